"""Widgets that several pages build the same way, each bound to the URL query string.

Every function takes the widget ``key`` as its first argument. Prefix it with the page's
prefix (``bs_``, ``st_``, ``gr_``, ``sy_``): the key becomes the name of the URL parameter,
so keys must be unique across the app. ``bind="query-params"`` keeps the value in the
address bar, and Streamlit drops the parameter while the value equals its default, so an
untouched page has a clean URL.

Pass ``value`` only as the default. To change a bound widget from code, assign
``st.session_state[key]`` in a callback before the widget runs; Streamlit rejects writes
to ``st.query_params`` for bound keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import streamlit as st

from kan_core.limits import LIMITS

__all__ = [
    "BIND",
    "degree_slider",
    "grid_range_slider",
    "grid_size_slider",
    "noise_slider",
    "parse_number_list",
    "sample_count_slider",
    "seed_input",
    "target_select",
]

BIND = "query-params"


def degree_slider(
    key: str,
    *,
    value: int = 3,
    max_degree: int = LIMITS.max_degree,
    label: str = "Degree k",
) -> int:
    """Draw a slider for the spline degree k, from 0 to `max_degree`, and return it."""
    return st.slider(
        label,
        min_value=0,
        max_value=max_degree,
        value=value,
        step=1,
        key=key,
        bind=BIND,
        help="Polynomial degree of each spline piece. KAN papers call it the order.",
    )


def grid_size_slider(
    key: str,
    *,
    value: int = 5,
    min_value: int = 1,
    max_value: int = 50,
    label: str = "Grid size G",
    disabled: bool = False,
) -> int:
    """Draw a slider for the number of grid intervals G and return it."""
    return st.slider(
        label,
        min_value=min_value,
        max_value=min(max_value, LIMITS.max_grid_size),
        value=value,
        step=1,
        key=key,
        bind=BIND,
        disabled=disabled,
        help="Number of equal intervals between the first and the last grid point.",
    )


def grid_range_slider(
    key: str,
    *,
    value: tuple[float, float] = (-1.0, 1.0),
    bounds: tuple[float, float] = (-5.0, 5.0),
    step: float = 0.5,
    label: str = "Grid range",
    disabled: bool = False,
) -> tuple[float, float]:
    """Draw a two-handle slider for the interval the grid covers and return (lower, upper).

    Streamlit lets both handles meet. Callers that need a non-empty interval should check
    ``lower < upper`` and show a message; the URL stores the pair as two repeated parameters.
    """
    lower, upper = st.slider(
        label,
        min_value=bounds[0],
        max_value=bounds[1],
        value=value,
        step=step,
        key=key,
        bind=BIND,
        disabled=disabled,
        help="First and last grid point, in the units of x.",
    )
    return float(lower), float(upper)


def target_select(
    key: str,
    targets: Mapping[str, object],
    *,
    value: str | None = None,
    label: str = "Target function",
) -> str:
    """Draw a select box over target presets and return the chosen key of `targets`.

    Parameters
    ----------
    key : str
        Widget key and URL parameter name.
    targets : mapping of str to Target
        Presets in menu order, such as ``kan_core.targets.targets_with_inputs(1)``. The
        menu shows each preset's ``label``, and the URL stores that label, because Streamlit
        binds a select box by its displayed label.
    value : str, optional
        Key of the default preset; the first one when omitted.
    """
    options = list(targets)
    index = 0 if value is None else options.index(value)
    return st.selectbox(
        label,
        options,
        index=index,
        format_func=lambda name: getattr(targets[name], "label", name),
        key=key,
        bind=BIND,
        help="Function that the samples are drawn from.",
    )


def noise_slider(
    key: str,
    *,
    value: float = 0.0,
    max_value: float = 0.5,
    step: float = 0.01,
    label: str = "Noise level",
    disabled: bool = False,
) -> float:
    """Draw a slider for the standard deviation of label noise and return it."""
    return st.slider(
        label,
        disabled=disabled,
        min_value=0.0,
        max_value=max_value,
        value=value,
        step=step,
        key=key,
        bind=BIND,
        help="Standard deviation of the Gaussian noise added to each sample's label.",
    )


def sample_count_slider(
    key: str,
    *,
    value: int = 200,
    min_value: int = 10,
    max_value: int = 2000,
    step: int = 10,
    label: str = "Samples",
) -> int:
    """Draw a slider for the number of samples, train and test together, and return it."""
    return st.slider(
        label,
        min_value=min_value,
        max_value=min(max_value, LIMITS.max_samples),
        value=value,
        step=step,
        key=key,
        bind=BIND,
        help="Number of samples drawn from the target; one fifth is held out for testing.",
    )


def seed_input(key: str, *, value: int = 0, label: str = "Seed") -> int:
    """Draw a number input for a random seed and return it."""
    return int(
        st.number_input(
            label,
            min_value=0,
            max_value=2**31 - 1,
            value=value,
            step=1,
            key=key,
            bind=BIND,
            help="Same seed, same random draw: change it to see another one.",
        )
    )


def parse_number_list(text: str, *, name: str, max_count: int) -> list[float]:
    """Parse comma-separated decimal numbers typed by a user.

    Only ``float`` parses each entry, so no user text is evaluated. Blank entries between
    commas are skipped, so a trailing comma is harmless.

    Parameters
    ----------
    text : str
        For example ``"-1, -0.5, 0, 0.5, 1"``.
    name : str
        Plural noun used in error messages, such as ``"knots"``.
    max_count : int
        Maximum number of entries.

    Returns
    -------
    list of float
        The finite numbers in the order typed.

    Raises
    ------
    ValueError
        If an entry is not a finite number, or if there are more than `max_count`
        entries. The message is a plain sentence that the app can show unchanged.
    """
    entries = [entry.strip() for entry in text.split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) > max_count:
        raise ValueError(
            f"At most {max_count} {name} are allowed, but {len(entries)} were entered. "
            f"Remove some {name}."
        )

    numbers = []
    for position, entry in enumerate(entries, start=1):
        try:
            number = float(entry)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(
                f"Entry {position} of the {name} ({entry!r}) is not a finite number. "
                f"Type decimal numbers separated by commas, such as 0.5."
            )
        numbers.append(number)
    return numbers
