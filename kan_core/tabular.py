"""Uploaded CSV data: reading, column selection and rescaling onto a spline grid.

`load_csv` reads bytes with the standard csv module and records, for every cell, whether it
contains a finite number, and if not, why not. `select_columns` keeps the rows whose chosen
columns are all finite and counts the dropped rows by reason. `rescale_inputs`, defined in
`kan_core.input_scaling` and re-exported here, maps each input column onto the grid range.

The file must be UTF-8 text (a byte-order mark is allowed). The delimiter is detected among
comma, semicolon and tab from the first 20 lines. With a semicolon delimiter, a decimal comma
such as ``1,5`` is read as 1.5, as spreadsheets in many European locales write it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kan_core.input_scaling import Scaling, rescale_inputs
from kan_core.limits import LIMITS

__all__ = [
    "CELL_EMPTY",
    "CELL_INFINITE",
    "CELL_NAN",
    "CELL_NUMBER",
    "CELL_TEXT",
    "MIN_ROWS",
    "Scaling",
    "Table",
    "load_csv",
    "rescale_inputs",
    "select_columns",
]

CELL_NUMBER = 0
CELL_EMPTY = 1
CELL_TEXT = 2
CELL_NAN = 3
CELL_INFINITE = 4
_REASONS = {
    CELL_EMPTY: "empty cell",
    CELL_TEXT: "text cell",
    CELL_NAN: "NaN",
    CELL_INFINITE: "infinite value",
}

MIN_ROWS = 10
"""Minimum number of usable data rows, a judgment call: enough to hold out a test set and fit."""

_SNIFF_CHARACTERS = 16_384
_SNIFF_LINES = 20
_MAX_NAME_LENGTH = 64
_NON_BLANK_LINE = re.compile(r"^[ \t\f\v]*[^\s]", re.MULTILINE)


@dataclass(frozen=True)
class Table:
    """A parsed CSV file.

    Attributes
    ----------
    columns : tuple of str, length n_columns
        Column names from the header, or ``column1, column2, ...`` when the first row is all
        numbers. Whitespace runs become one space, names are cut to 64 characters, empty
        names become ``columnI`` and repeated names get a suffix `` (2)``.
    values : torch.Tensor, shape (n_rows, n_columns), float64
        Cell values; NaN where a cell is not a number.
    status : torch.Tensor, shape (n_rows, n_columns), int8
        One of `CELL_NUMBER`, `CELL_EMPTY`, `CELL_TEXT`, `CELL_NAN`, `CELL_INFINITE` per cell.
    numeric_columns : tuple of str
        Columns in which more than half of the non-empty cells are numbers.
    delimiter : str
        The detected delimiter.
    skipped_rows : dict of str to int
        Rows dropped while reading, by reason (``"wrong number of cells"``).
    """

    columns: tuple[str, ...]
    values: torch.Tensor
    status: torch.Tensor
    numeric_columns: tuple[str, ...]
    delimiter: str
    skipped_rows: dict[str, int]

    @property
    def n_rows(self) -> int:
        """Number of data rows kept."""
        return self.values.shape[0]


def load_csv(
    data: bytes, max_bytes: int = LIMITS.max_csv_bytes, max_rows: int = LIMITS.max_csv_rows
) -> Table:
    """Read a CSV file of numbers.

    Parameters
    ----------
    data : bytes
        File content, UTF-8 with or without a byte-order mark.
    max_bytes : int
        Largest accepted file size.
    max_rows : int
        Largest accepted number of data rows.

    Returns
    -------
    Table

    Raises
    ------
    ValueError
        If the file is empty, too large, not UTF-8 text, malformed, has fewer than `MIN_ROWS`
        data rows, more than `max_rows` rows or `LIMITS.max_csv_columns` columns, or no
        numeric column. Each message names the fix.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes; received {type(data).__name__}.")
    if len(data) > max_bytes:
        raise ValueError(
            f"The file has {len(data):,} bytes; the limit is {max_bytes:,} bytes. "
            f"Upload a smaller sample."
        )
    if b"\x00" in data:
        raise ValueError(
            "The file contains NUL bytes, so it is not a text CSV file. Export it as CSV text."
        )
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"The file is not UTF-8 text (invalid byte at position {err.start:,}). "
            f"Save it as UTF-8 CSV."
        ) from err
    if text.strip() == "":
        raise ValueError(
            "The file is empty. Upload a CSV file with a header row and rows of numbers."
        )

    delimiter = _detect_delimiter(text)
    rows, n_unread = _read_rows(text, delimiter, max_rows)
    first = rows[0]
    n_columns = len(first)
    if n_columns > LIMITS.max_csv_columns:
        raise ValueError(
            f"The file has {n_columns} columns; the limit is {LIMITS.max_csv_columns}. "
            f"Remove unused columns."
        )
    has_header = not all(_parse_cell(cell, delimiter)[1] == CELL_NUMBER for cell in first)
    columns = _column_names(first if has_header else [""] * n_columns)
    body = rows[1:] if has_header else rows
    if len(body) > max_rows:
        raise ValueError(
            f"The file has {len(body) + n_unread:,} rows; the limit is {max_rows:,} rows. "
            f"Upload a smaller sample."
        )
    if len(body) == 0:
        raise ValueError(
            "The file has a header row but no data rows. Add rows of numbers below the header."
        )

    complete_rows = [row for row in body if len(row) == n_columns]
    n_skipped = len(body) - len(complete_rows)
    skipped = {"wrong number of cells": n_skipped} if n_skipped > 0 else {}
    if len(complete_rows) < MIN_ROWS:
        plural = "row" if len(complete_rows) == 1 else "rows"
        note = ""
        if n_skipped > 0:
            note = f" ({n_skipped} more with a wrong number of cells were skipped)"
        raise ValueError(
            f"The file has {len(complete_rows)} data {plural}{note}; at least {MIN_ROWS} rows "
            f"are needed to fit and test a model. Add more rows."
        )

    values = np.empty((len(complete_rows), n_columns), dtype=np.float64)
    status = np.empty((len(complete_rows), n_columns), dtype=np.int8)
    for index, cells in enumerate(zip(*complete_rows)):
        values[:, index], status[:, index] = _parse_column(cells, delimiter)
    values_tensor = torch.from_numpy(values)
    status_tensor = torch.from_numpy(status)
    numeric = _numeric_columns(columns, status_tensor)
    if not numeric:
        raise ValueError("No column contains numbers. Upload a CSV file with numeric columns.")
    return Table(columns, values_tensor, status_tensor, numeric, delimiter, skipped)


def _read_rows(text: str, delimiter: str, max_rows: int) -> tuple[list[list[str]], int]:
    """Return the non-blank rows up to one past the cap, and a count of the lines not parsed."""
    stream = io.StringIO(text)
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if "".join(row).strip() == "":
                continue
            rows.append(row)
            # Parsing stops past the cap (a header and one row over it). The rest is only
            # counted, by non-blank lines, so the message can report the size of the file.
            if len(rows) > max_rows + 1:
                n_unread = len(_NON_BLANK_LINE.findall(stream.read()))
                return rows, n_unread
    except csv.Error as err:
        raise ValueError(
            f"The file is not valid CSV near line {reader.line_num}: {err}. "
            f"Check quotes and delimiters."
        ) from err
    return rows, 0


def _parse_column(cells: Sequence[str], delimiter: str) -> tuple[np.ndarray, np.ndarray]:
    """Return values and status codes of one column's cells."""
    try:
        # Fast path: numpy reads a column of plain numbers in one call.
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        parsed = [_parse_cell(cell, delimiter) for cell in cells]
        values = np.array([value for value, _ in parsed], dtype=np.float64)
        status = np.array([code for _, code in parsed], dtype=np.int8)
        return values, status
    status = np.full(len(cells), CELL_NUMBER, dtype=np.int8)
    status[np.isinf(values)] = CELL_INFINITE
    status[np.isnan(values)] = CELL_NAN
    return values, status


def _detect_delimiter(text: str) -> str:
    # csv.Sniffer is not used because its regular expressions took 2 to 4 s on crafted 16 KB
    # samples (Python 3.11, measured on a 2-core CPU). Instead each candidate splits the first
    # lines. The one that gives the most lines with the same number of cells (more than one)
    # wins, and ties go to more cells.
    lines = text[:_SNIFF_CHARACTERS].splitlines()[:_SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for delimiter in ",;\t":
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        width = max(set(counts), key=counts.count)
        score = (counts.count(width) if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_cell(cell: str, delimiter: str) -> tuple[float, int]:
    stripped = cell.strip()
    if stripped == "":
        return math.nan, CELL_EMPTY
    try:
        value = float(stripped)
    except ValueError:
        if delimiter != ";" or stripped.count(",") != 1:
            return math.nan, CELL_TEXT
        try:
            value = float(stripped.replace(",", "."))
        except ValueError:
            return math.nan, CELL_TEXT
    if math.isnan(value):
        return math.nan, CELL_NAN
    if math.isinf(value):
        return value, CELL_INFINITE
    return value, CELL_NUMBER


def _column_names(header: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for index, cell in enumerate(header):
        # Names go into menus and captions, so line breaks become spaces and long names
        # are cut.
        name = " ".join(cell.split())[:_MAX_NAME_LENGTH] or f"column{index + 1}"
        candidate = name
        copy = 2
        while candidate in names:
            candidate = f"{name} ({copy})"
            copy += 1
        names.append(candidate)
    return tuple(names)


def _numeric_columns(columns: Sequence[str], status: torch.Tensor) -> tuple[str, ...]:
    numeric = []
    for index, name in enumerate(columns):
        column = status[:, index]
        non_empty = int((column != CELL_EMPTY).sum())
        numbers = int((column != CELL_EMPTY).sum()) - int((column == CELL_TEXT).sum())
        if non_empty > 0 and 2 * numbers > non_empty:
            numeric.append(name)
    return tuple(numeric)


def select_columns(
    table: Table, inputs: Sequence[str], output: str
) -> tuple[torch.Tensor, torch.Tensor, dict[str, int]]:
    """Collect the rows where all chosen columns hold finite numbers.

    Parameters
    ----------
    table : Table
    inputs : sequence of str, length n_inputs
        Input column names.
    output : str
        Output column name.

    Returns
    -------
    x : torch.Tensor, shape (n, n_inputs), float64
    y : torch.Tensor, shape (n, 1), float64
    dropped : dict of str to int
        Dropped rows by reason: ``"empty cell"``, ``"text cell"``, ``"NaN"``, ``"infinite value"``.
        A row is counted once, under the first bad cell in the order inputs, then output.

    Raises
    ------
    ValueError
        If a name is unknown, repeated or not numeric, or fewer than `MIN_ROWS` rows remain.
    """
    if isinstance(inputs, str):
        raise TypeError(f"inputs must be a list of column names; received the string {inputs!r}.")
    chosen = list(inputs) + [output]
    if len(inputs) == 0:
        raise ValueError("Choose at least one input column; received none.")
    for name in chosen:
        if name not in table.columns:
            raise ValueError(
                f"Column {name!r} is not in the file; the columns are {', '.join(table.columns)}."
            )
        if name not in table.numeric_columns:
            raise ValueError(f"Column {name!r} does not contain numbers. Choose a numeric column.")
    if len(set(chosen)) != len(chosen):
        raise ValueError(
            f"Each column may be chosen once; received inputs {list(inputs)!r} "
            f"and output {output!r}."
        )

    indices = [table.columns.index(name) for name in chosen]
    status = table.status[:, indices]
    bad = status != CELL_NUMBER
    keep = ~bad.any(dim=1)

    dropped: dict[str, int] = {}
    first_bad = bad.to(torch.int8).argmax(dim=1)
    reasons = status.gather(1, first_bad[:, None])[:, 0]
    for code, reason in _REASONS.items():
        count = int((reasons[~keep] == code).sum())
        if count > 0:
            dropped[reason] = count

    n_kept = int(keep.sum())
    if n_kept < MIN_ROWS:
        raise ValueError(
            f"Only {n_kept} rows have numbers in all of {', '.join(chosen)}; at least {MIN_ROWS} "
            f"are needed. Choose other columns or fill in the missing cells."
        )
    values = table.values[keep][:, indices]
    return values[:, :-1].contiguous(), values[:, -1:].contiguous(), dropped
