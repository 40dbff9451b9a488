"""Session-state key names shared across pages, and the one place that initialises them.

Streamlit keeps one ``st.session_state`` per browser session, so everything stored here is
per user. Widget keys are not listed here: each page owns its widget keys (prefixed by page,
such as ``bs_degree``), and the URL stores their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

__all__ = ["NAV_PAGES", "init_state", "registered_pages"]

NAV_PAGES = "nav_pages"
"""Key of the list of ``st.Page`` objects that the router registered in the current run."""


def init_state(defaults: Mapping[str, Any]) -> None:
    """Store each default whose key session state does not contain yet.

    Call it once near the top of a page with all of that page's non-widget keys, so their
    first values are set in one place and later code may read them with ``[]``.

    Parameters
    ----------
    defaults : mapping of str to any
        Key name and first value. Existing values are left unchanged.
    """
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def registered_pages() -> list[Any]:
    """Return the ``st.Page`` objects of the app's navigation, in menu order.

    The router stores them under `NAV_PAGES` on every run before it runs the page, so the
    list is empty only when a page file runs on its own (as in some tests).
    """
    return list(st.session_state.get(NAV_PAGES, []))
