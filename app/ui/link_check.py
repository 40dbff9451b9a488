"""Tell the reader when a link set a control to a value the control did not accept.

Streamlit drops a bound widget's URL parameter when its value is invalid (a grid size of
100000, a seed of -5, an unknown option) and shows the default instead, silently. On the
first run of a session, the router records the query string before the page runs and calls
`report_ignored_values` after it, which names every dropped parameter in one toast.
"""

from __future__ import annotations

import math

import streamlit as st

__all__ = ["remember_link", "report_ignored_values"]

_LINK = "link_query_params"
_CHECKED = "link_checked"


def remember_link() -> None:
    """Record the query string of the session's first run; later runs do nothing."""
    if _CHECKED not in st.session_state:
        st.session_state[_LINK] = {key: st.query_params.get_all(key) for key in st.query_params}


def report_ignored_values() -> None:
    """Show one toast naming the link parameters that the page dropped, once per session."""
    if _CHECKED in st.session_state:
        return
    st.session_state[_CHECKED] = True
    link = st.session_state.pop(_LINK, {})
    ignored = [
        f"{key}={', '.join(values)}"
        for key, values in link.items()
        if key not in st.query_params and not _equals_current(key, values)
    ]
    if ignored:
        st.toast(
            "This link set values that the controls do not allow, so they show their defaults: "
            + "; ".join(ignored[:6])
            + ("; …" if len(ignored) > 6 else "")
            + ". Check the link or set the controls by hand.",
            icon=":material/link_off:",
            duration="infinite",
        )


def _equals_current(key: str, values: list[str]) -> bool:
    # Streamlit also drops a parameter whose value equals the control's default. Such a value
    # was applied, so it must not be reported.
    current = st.session_state.get(key)
    if current is None:
        return False
    current_values = list(current) if isinstance(current, (list, tuple)) else [current]
    if len(current_values) != len(values):
        return False
    return all(_same(raw, value) for raw, value in zip(values, current_values))


def _same(raw: str, value: object) -> bool:
    if isinstance(value, bool):
        return raw.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            number = float(raw)
        except ValueError:
            return False
        return math.isfinite(number) and number == float(value)
    return raw == str(value)
