"""Lists of numbers that live in the URL, edited as text, in a table or with sliders.

``st.data_editor`` cannot be bound to the URL, so a list such as custom knots is stored in
a bound text input (comma-separated, the source of truth), and a table or a row of sliders
edits that text. Invalid input never replaces the list: the text input and the table fall
back to the last valid list and show one sentence that explains what was wrong.

Each list uses the widget key of its text input, such as ``bs_knots``, and derives its
session-state keys from it (`last_valid_key`, `error_key`, `revision_key`, `moved_key`).

Typical use, in this order in the page (the text input must run before the table)::

    values = list_text_input("Knots", "bs_knots", name="knots", max_count=60)
    list_table_editor("bs_knot_table", "bs_knots", values or default, column="position",
                      name="knots", max_count=60)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from ui.controls import BIND, parse_number_list
from ui.state import init_state

__all__ = [
    "error_key",
    "format_numbers",
    "last_valid_key",
    "list_sliders",
    "list_table_editor",
    "list_text_input",
    "moved_key",
    "revision_key",
    "set_list",
    "table_error_key",
]

Validator = Callable[[list[float]], None]
"""Raises ValueError with a plain sentence when a parsed list is not acceptable."""


def last_valid_key(text_key: str) -> str:
    """Return the session-state key of the last valid text of a list."""
    return f"{text_key}_last_valid"


def error_key(text_key: str) -> str:
    """Return the session-state key of the message about the last rejected input."""
    return f"{text_key}_error"


def revision_key(text_key: str) -> str:
    """Return the session-state key of a counter that makes tables redraw from the list."""
    return f"{text_key}_revision"


def table_error_key(table_key: str) -> str:
    """Return the session-state key of the message about the last rejected table edit."""
    return f"{table_key}_error"


def _pending_key(text_key: str) -> str:
    return f"{text_key}_pending"


def _handled_key(table_key: str) -> str:
    return f"{table_key}_handled"


def moved_key(text_key: str) -> str:
    """Return the session-state key of the index of the slider moved last, or None."""
    return f"{text_key}_moved"


def format_numbers(values: Sequence[float]) -> str:
    """Format numbers as the comma-separated text that `parse_number_list` reads back."""
    return ", ".join(f"{value:.6g}" for value in values)


def _init(text_key: str) -> None:
    init_state(
        {
            last_valid_key(text_key): "",
            error_key(text_key): None,
            revision_key(text_key): 0,
            moved_key(text_key): None,
        }
    )


def _check(text: str, *, name: str, max_count: int, validator: Validator | None) -> list[float]:
    values = parse_number_list(text, name=name, max_count=max_count)
    if validator is not None and values:
        validator(values)
    return values


def set_list(text_key: str, values: Sequence[float] | None) -> None:
    """Replace a list from a callback: store its text, accept it as valid, redraw tables.

    Call it only from a widget callback (``on_change`` or ``on_click``), because Streamlit
    allows writing a widget's value only before the widget runs. None clears the list.
    """
    _init(text_key)
    text = "" if values is None else format_numbers(values)
    st.session_state[text_key] = text
    st.session_state[last_valid_key(text_key)] = text
    st.session_state[error_key(text_key)] = None
    st.session_state[revision_key(text_key)] += 1


def _reject(text_key: str, message: str) -> None:
    st.session_state[error_key(text_key)] = f"{message} The previous values are kept."
    st.session_state[revision_key(text_key)] += 1


def _on_text_change(text_key: str, name: str, max_count: int, validator: Validator | None) -> None:
    text = st.session_state[text_key]
    try:
        _check(text, name=name, max_count=max_count, validator=validator)
    except ValueError as err:
        st.session_state[text_key] = st.session_state[last_valid_key(text_key)]
        _reject(text_key, str(err))
        return
    st.session_state[last_valid_key(text_key)] = text
    st.session_state[error_key(text_key)] = None
    st.session_state[revision_key(text_key)] += 1


def list_text_input(
    label: str,
    text_key: str,
    *,
    name: str,
    max_count: int,
    validator: Validator | None = None,
    placeholder: str | None = None,
    help: str | None = None,
    max_chars: int = 4000,
) -> list[float] | None:
    """Draw a URL-bound text input for a list of numbers and return the valid list.

    Parameters
    ----------
    label : str
    text_key : str
        Widget key and URL parameter, such as ``"bs_knots"``.
    name : str
        Plural noun for messages, such as ``"knots"``.
    max_count : int
        Maximum number of entries.
    validator : callable, optional
        Further checks on the parsed list; raises ValueError with a plain sentence.
    placeholder, help : str, optional
    max_chars : int
        Maximum length of the typed text. A link can still carry longer text, which
        `max_count` then limits.

    Returns
    -------
    list of float or None
        None while the text is empty. A typed list that fails a check is put back to the last
        valid text before the page runs, and a message is shown below the input. A link
        whose text fails a check (no callback has run yet) shows the message and returns
        the last valid list, which is None on a first visit.
    """
    _init(text_key)
    pending = st.session_state.pop(_pending_key(text_key), None)
    if pending is not None:
        st.session_state[text_key] = pending
        st.session_state[last_valid_key(text_key)] = pending
    text = st.text_input(
        label,
        key=text_key,
        bind=BIND,
        placeholder=placeholder,
        help=help,
        max_chars=max_chars,
        on_change=_on_text_change,
        args=(text_key, name, max_count, validator),
    )

    message = st.session_state[error_key(text_key)]
    try:
        values = _check(text, name=name, max_count=max_count, validator=validator)
    except ValueError as err:
        message = f"{err} The previous values are kept."
        values = _check(
            st.session_state[last_valid_key(text_key)],
            name=name, max_count=max_count, validator=validator,
        )
    else:
        st.session_state[last_valid_key(text_key)] = text

    if message:
        st.error(message, icon=":material/error:")
        # Show a rejected input once; the next interaction starts clean.
        st.session_state[error_key(text_key)] = None
    return values or None


def _apply_edits(values: list[float], changes: dict, column: str) -> list[float | None]:
    # Replay the editor's edit state (edited, deleted, then added rows) on the shown list.
    edited = list(values)
    for row, edits in changes.get("edited_rows", {}).items():
        if column in edits:
            edited[int(row)] = edits[column]
    deleted = {int(row) for row in changes.get("deleted_rows", [])}
    edited = [value for row, value in enumerate(edited) if row not in deleted]
    edited += [added.get(column) for added in changes.get("added_rows", [])]
    return edited


def list_table_editor(
    table_key: str,
    text_key: str,
    values: Sequence[float],
    *,
    column: str,
    name: str,
    max_count: int,
    validator: Validator | None = None,
    extra_columns: dict[str, Sequence[object]] | None = None,
    row_labels: Sequence[str] | None = None,
    resizable: bool = True,
    step: float = 0.01,
) -> None:
    """Draw a table whose edits replace the list stored in the text input `text_key`.

    The table reads its edit state in the script run, not in a callback, so that AppTest can
    drive it by assigning ``edited_rows``, ``added_rows`` and ``deleted_rows`` to
    ``st.session_state[table_key]``. An accepted edit is handed to the text input through
    session state and the script reruns, because the text input has already run. A
    rejected edit reruns too, and the table shows the last valid list with the message.

    Parameters
    ----------
    table_key : str
        Widget key of the table. A table cannot be bound to the URL; its edits reach the URL
        through `text_key`.
    text_key : str
        Key of the list's `list_text_input`.
    values : sequence of float
        The list currently in use, one row each.
    column : str
        Header of the editable column.
    name, max_count, validator
        As in `list_text_input`. A rejected edit is reported below the table.
    extra_columns : dict of str to sequence, optional
        Read-only columns shown after the editable one, such as knot multiplicities.
    row_labels : sequence of str, optional
        Labels shown as the row index, such as ``c0, c1, ...``.
    resizable : bool
        Let the reader add and delete rows.
    step : float
        Step of the number cells.
    """
    _init(text_key)
    # The editable column's name carries the list's revision. Every accepted or rejected
    # edit bumps it, so Streamlit treats the table as new and redraws it from the list
    # instead of keeping a rejected or outdated cell on screen.
    data_column = f"{column} #{st.session_state[revision_key(text_key)]}"
    frame = pd.DataFrame({data_column: list(values)})
    for header, cells in (extra_columns or {}).items():
        frame[header] = list(cells)
    if row_labels is not None:
        frame.index = list(row_labels)

    column_config = {data_column: st.column_config.NumberColumn(column, step=step, required=True)}
    st.data_editor(
        frame,
        key=table_key,
        num_rows="dynamic" if resizable else "fixed",
        hide_index=None if resizable or row_labels is not None else True,
        disabled=list(extra_columns or {}),
        column_config=column_config,
        width="stretch",
    )

    message = st.session_state.pop(table_error_key(table_key), None)
    if message:
        st.error(message, icon=":material/error:")

    # The run right after a handled edit receives that edit's state once more, so skip it.
    if st.session_state.pop(_handled_key(table_key), False):
        return
    edited = _apply_edits(list(values), st.session_state.get(table_key) or {}, data_column)
    if edited == list(values):
        return

    try:
        if any(value is None for value in edited):
            raise ValueError(f"Every row of the {name} table needs a number, but a cell is empty.")
        _check(format_numbers(edited), name=name, max_count=max_count, validator=validator)
    except ValueError as err:
        st.session_state[table_error_key(table_key)] = f"{err} The previous values are kept."
    else:
        # The text input has already run in this script run, so its new value waits in
        # session state until the rerun below, where `list_text_input` applies it.
        st.session_state[_pending_key(text_key)] = format_numbers(edited)
    st.session_state[revision_key(text_key)] += 1
    st.session_state[_handled_key(table_key)] = True
    st.rerun()


def _on_slider_change(slider_key: str, text_key: str, index: int, current: list[float]) -> None:
    values = list(current)
    values[index] = float(st.session_state[slider_key])
    set_list(text_key, values)
    st.session_state[moved_key(text_key)] = index


def list_sliders(
    text_key: str,
    values: Sequence[float],
    *,
    slider_prefix: str,
    labels: Sequence[str],
    min_value: float,
    max_value: float,
    step: float,
    columns: int = 4,
) -> None:
    """Draw one slider per entry of a list; moving one rewrites the list's text input.

    Slider ``i`` has the key ``f"{slider_prefix}{i}"``. The sliders are not bound to the URL
    themselves, because the list's text input already carries every value there. Values
    outside the slider range are shown at the nearest end, and the list keeps them until
    that slider moves. The index of the slider moved last is stored under `moved_key`.
    """
    _init(text_key)
    current = list(values)
    cells = st.columns(columns)
    for index, value in enumerate(current):
        slider_key = f"{slider_prefix}{index}"
        # Show the list's value; writing before the slider runs is allowed.
        st.session_state[slider_key] = min(max(float(value), min_value), max_value)
        with cells[index % columns]:
            st.slider(
                labels[index],
                min_value=min_value,
                max_value=max_value,
                step=step,
                key=slider_key,
                on_change=_on_slider_change,
                args=(slider_key, text_key, index, current),
            )
