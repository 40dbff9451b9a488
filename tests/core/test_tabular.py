"""Tests of CSV reading, column selection and input rescaling."""

import math
from pathlib import Path

import pytest
import torch

from kan_core.tabular import (
    CELL_EMPTY,
    CELL_INFINITE,
    CELL_NAN,
    CELL_NUMBER,
    CELL_TEXT,
    MIN_ROWS,
    load_csv,
    rescale_inputs,
    select_columns,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "app" / "data"


def csv_bytes(n_rows: int = 12, delimiter: str = ",", decimal: str = ".") -> bytes:
    """Build a CSV of x = i / 10 and y = x**2, with the given delimiter and decimal mark."""
    lines = [f"x{delimiter}y"]
    for i in range(n_rows):
        x = f"{i / 10}".replace(".", decimal)
        y = f"{(i / 10) ** 2}".replace(".", decimal)
        lines.append(f"{x}{delimiter}{y}")
    return ("\n".join(lines) + "\n").encode()


def expected_columns(n_rows: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor([[i / 10] for i in range(n_rows)], dtype=torch.float64)
    return x, x**2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b" \n\n \n", "The file is empty"),
        (b"x,y\n", "header row but no data rows"),
        (b"x,y\n1,2\n", "The file has 1 data row; at least 10 rows are needed"),
        (b"1,2\n", "The file has 1 data row;"),
        (csv_bytes(MIN_ROWS - 1), f"The file has {MIN_ROWS - 1} data rows;"),
        (b"name,city\n" + b"ann,paris\n" * 12, "No column contains numbers"),
        ("x,y\n\u00e9,1\n".encode("latin-1"), "not UTF-8 text \\(invalid byte at position 4\\)"),
        (b"x,y\n1,\x002\n", "NUL bytes"),
        (b'x,y\n"1,2\n' + b"3,4\n" * 12, "not valid CSV near line 14: unexpected end of data"),
        (b'x,y\n"1"2,3\n' + b"3,4\n" * 12, "not valid CSV near line 2"),
        (
            b"x,y\n" + b"1,2\n" * 5 + b"1,2,3\n" * 7,
            "5 data rows \\(7 more with a wrong number of cells",
        ),
    ],
)
def test_load_rejects_unusable_file(data, message):
    with pytest.raises(ValueError, match=message):
        load_csv(data)


def test_load_rejects_too_many_bytes():
    data = csv_bytes(50)
    message = f"The file has {len(data):,} bytes; the limit is 100 bytes"
    with pytest.raises(ValueError, match=message):
        load_csv(data, max_bytes=100)


def test_load_rejects_too_many_rows():
    data = csv_bytes(1200)
    message = "The file has 1,200 rows; the limit is 1,000 rows. Upload a smaller sample."
    with pytest.raises(ValueError, match=message):
        load_csv(data, max_rows=1000)


def test_load_rejects_too_many_columns():
    header = ",".join(f"c{i}" for i in range(60))
    row = ",".join("1" for _ in range(60))
    data = ("\n".join([header] + [row] * 12) + "\n").encode()
    with pytest.raises(ValueError, match="The file has 60 columns; the limit is 50"):
        load_csv(data)


@pytest.mark.parametrize(
    ("delimiter", "decimal"),
    [(",", "."), (";", "."), (";", ","), ("\t", ".")],
)
def test_delimiters_and_decimal_commas(delimiter, decimal):
    table = load_csv(csv_bytes(12, delimiter, decimal))
    assert table.delimiter == delimiter
    assert table.columns == ("x", "y")
    x, y, dropped = select_columns(table, ["x"], "y")
    expected_x, expected_y = expected_columns(12)
    torch.testing.assert_close(x, expected_x, rtol=0, atol=0)
    torch.testing.assert_close(y, expected_y, rtol=0, atol=0)
    assert dropped == {}


def test_utf8_bom_is_stripped():
    data = "\ufeffx,y\n".encode() + csv_bytes(12)[4:]
    table = load_csv(data)
    assert table.columns == ("x", "y")
    assert table.n_rows == 12


def test_file_without_header_gets_names():
    table = load_csv(csv_bytes(12)[4:])
    assert table.columns == ("column1", "column2")
    assert table.n_rows == 12


def test_blank_duplicate_and_padded_names():
    data = b" a ,,a\n" + b"1,2,3\n" * 12
    table = load_csv(data)
    assert table.columns == ("a", "column2", "a (2)")


def test_long_and_multiline_names_cleaned():
    long_name = "a" * 100
    data = f'"first\nname",{long_name},{long_name}b\n'.encode() + b"1,2,3\n" * 12
    table = load_csv(data)
    assert table.columns == ("first name", "a" * 64, "a" * 64 + " (2)")


def test_single_column_file():
    data = b"x\n" + b"".join(f"{i}\n".encode() for i in range(12))
    table = load_csv(data)
    assert table.columns == ("x",)
    assert table.numeric_columns == ("x",)


def test_bad_cells_dropped_and_counted():
    data = csv_bytes(12) + b"nan,1\ninf,2\n3,-inf\n,4\nabc,5\n6,NaN\n"
    table = load_csv(data)
    assert table.n_rows == 18
    x_status = [CELL_NAN, CELL_INFINITE, CELL_NUMBER, CELL_EMPTY, CELL_TEXT, CELL_NUMBER]
    y_status = [CELL_NUMBER, CELL_NUMBER, CELL_INFINITE, CELL_NUMBER, CELL_NUMBER, CELL_NAN]
    assert table.status[12:, 0].tolist() == x_status
    assert table.status[12:, 1].tolist() == y_status

    x, y, dropped = select_columns(table, ["x"], "y")
    assert dropped == {"NaN": 2, "infinite value": 2, "empty cell": 1, "text cell": 1}
    expected_x, expected_y = expected_columns(12)
    torch.testing.assert_close(x, expected_x, rtol=0, atol=0)
    torch.testing.assert_close(y, expected_y, rtol=0, atol=0)


def test_blank_lines_ignored():
    data = b"\n" + csv_bytes(12).replace(b"\n", b"\n \n\n") + b"\t\n"
    table = load_csv(data)
    assert table.columns == ("x", "y")
    assert table.n_rows == 12
    assert table.skipped_rows == {}


def test_row_limit_counts_unread_rows():
    data = csv_bytes(5000)
    with pytest.raises(ValueError, match="The file has 5,000 rows; the limit is 20 rows"):
        load_csv(data, max_rows=20)


def test_rows_with_wrong_cell_count_skipped():
    table = load_csv(csv_bytes(12) + b"1,2,3\n4\n")
    assert table.n_rows == 12
    assert table.skipped_rows == {"wrong number of cells": 2}


def test_text_column_not_numeric():
    data = b"x,label,y\n" + b"".join(f"{i},item{i},{2 * i}\n".encode() for i in range(12))
    table = load_csv(data)
    assert table.numeric_columns == ("x", "y")
    with pytest.raises(ValueError, match="Column 'label' does not contain numbers"):
        select_columns(table, ["label"], "y")


def test_mostly_text_column_not_numeric():
    # Three numbers among twelve cells: the column is text, not a numeric column with gaps.
    rows = [f"{i},{'word' if i > 2 else i}\n" for i in range(12)]
    table = load_csv(("x,y\n" + "".join(rows)).encode())
    assert table.numeric_columns == ("x",)


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        (["x"], "z", "Column 'z' is not in the file; the columns are x, y"),
        (["x"], "x", "Each column may be chosen once"),
        ([], "y", "at least one input column"),
    ],
)
def test_select_rejects_bad_names(inputs, output, message):
    table = load_csv(csv_bytes(12))
    with pytest.raises(ValueError, match=message):
        select_columns(table, inputs, output)


def test_select_rejects_too_few_complete_rows():
    rows = "x,y,z\n" + "".join(f"{i},{i if i < 5 else ''},{i}\n" for i in range(12))
    table = load_csv(rows.encode())
    with pytest.raises(ValueError, match="Only 5 rows have numbers in all of x, y"):
        select_columns(table, ["x"], "y")


def test_select_two_inputs_keeps_column_order():
    data = b"a,b,c\n" + b"".join(f"{i},{10 * i},{100 * i}\n".encode() for i in range(12))
    table = load_csv(data)
    x, y, _ = select_columns(table, ["c", "a"], "b")
    assert x.shape == (12, 2)
    assert y.shape == (12, 1)
    assert x.dtype == torch.float64
    torch.testing.assert_close(x[:, 0], 100 * x[:, 1], rtol=0, atol=0)
    torch.testing.assert_close(y[:, 0], 10 * x[:, 1], rtol=0, atol=0)


@pytest.mark.parametrize("grid_range", [(-1.0, 1.0), (0.0, 1.0), (-0.3, 2.7), (-5.0, 13.0)])
def test_rescale_maps_min_max_exactly(grid_range):
    generator = torch.Generator().manual_seed(0)
    unit = torch.rand(50, 3, generator=generator, dtype=torch.float64)
    # Columns of very different widths and offsets.
    x = unit * torch.tensor([3.0, 1e-4, 1e5]) + torch.tensor([-7.0, 0.1, 3.0])
    x_scaled, scaling = rescale_inputs(x, grid_range)
    low, high = grid_range
    assert x_scaled.min(dim=0).values.tolist() == [low] * 3
    assert x_scaled.max(dim=0).values.tolist() == [high] * 3
    torch.testing.assert_close(scaling.apply(x), x_scaled, rtol=0, atol=1e-12 * (high - low))
    torch.testing.assert_close(scaling.invert(x_scaled), x, rtol=1e-12, atol=1e-12)
    # The map is affine: scaled values keep their order and relative spacing.
    t = (x - x.min(dim=0).values) / (x.max(dim=0).values - x.min(dim=0).values)
    torch.testing.assert_close(x_scaled, low + (high - low) * t, rtol=0, atol=1e-12 * (high - low))


def test_rescale_constant_column_goes_to_midpoint():
    x = torch.tensor([[1.0, 4.0], [2.0, 4.0], [3.0, 4.0]], dtype=torch.float64)
    x_scaled, scaling = rescale_inputs(x, (-1.0, 1.0))
    assert x_scaled[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert x_scaled[:, 0].tolist() == [-1.0, 0.0, 1.0]
    assert scaling.constant_columns == (1,)
    assert bool(torch.isfinite(scaling.scale).all())
    torch.testing.assert_close(scaling.apply(x), x_scaled, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("x", "grid_range", "message"),
    [
        (torch.zeros(0, 2, dtype=torch.float64), (-1.0, 1.0), "n >= 1"),
        (torch.zeros(3, dtype=torch.float64), (-1.0, 1.0), "shape"),
        (torch.tensor([[1.0], [math.nan]], dtype=torch.float64), (-1.0, 1.0), "finite"),
        (torch.tensor([[1.0], [2.0]], dtype=torch.float64), (1.0, 1.0), "low < high"),
        (torch.tensor([[1.0], [2.0]], dtype=torch.float64), (0.0, math.inf), "finite"),
        (torch.tensor([[-1e308], [1e308]], dtype=torch.float64), (-1.0, 1.0), "span more than"),
    ],
)
def test_rescale_rejects_bad_input(x, grid_range, message):
    with pytest.raises(ValueError, match=message):
        rescale_inputs(x, grid_range)


def test_example_file_loads_cleanly():
    table = load_csv((DATA_DIR / "example.csv").read_bytes())
    assert table.columns == ("x", "y")
    assert table.n_rows == 200
    x, y, dropped = select_columns(table, ["x"], "y")
    assert dropped == {}
    # The example is sin(2x) + x/2 plus Gaussian noise of standard deviation 0.05.
    residual = y - (torch.sin(2 * x) + 0.5 * x)
    assert float(residual.abs().max()) < 0.25
    assert 0.03 < float(residual.std()) < 0.07


def test_two_input_example_loads_cleanly():
    table = load_csv((DATA_DIR / "example_2d.csv").read_bytes())
    assert table.columns == ("x1", "x2", "y")
    x, y, dropped = select_columns(table, ["x1", "x2"], "y")
    assert dropped == {}
    # The example is sin(x1) + x2^2 / 2 plus Gaussian noise of standard deviation 0.05.
    residual = y[:, 0] - (torch.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2)
    assert float(residual.abs().max()) < 0.25
    assert 0.03 < float(residual.std()) < 0.07
