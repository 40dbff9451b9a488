"""Tests of the per-session caps and their check functions."""

import dataclasses

import pytest

from kan_core.limits import (
    LIMITS,
    Limits,
    check_degree,
    check_grid_size,
    check_parameter_count,
    check_samples,
    check_steps,
    check_widths,
)


def test_limits_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LIMITS.max_grid_size = 10**9  # type: ignore[misc]


def test_default_caps():
    assert LIMITS.max_grid_size == 200
    assert LIMITS.max_width == 10
    assert LIMITS.max_depth == 6
    assert LIMITS.max_samples == 5000
    assert LIMITS.max_steps_per_tick == 200
    assert LIMITS.max_formula_length == 200
    assert LIMITS.max_csv_rows == 20_000


@pytest.mark.parametrize("grid_size", [1, 5, 200, [3, 200], (1, 1, 1)])
def test_grid_size_accepted(grid_size):
    check_grid_size(grid_size)


@pytest.mark.parametrize(
    ("grid_size", "error", "message"),
    [
        (0, ValueError, "grid_size must be at least 1; received 0"),
        (-3, ValueError, "at least 1; received -3"),
        (201, ValueError, "grid_size must be at most 200; received 201"),
        (10**9, ValueError, "at most 200; received 1,000,000,000"),
        ([5, 500], ValueError, "at most 200; received 500"),
        ([], ValueError, "at least one grid size"),
        (5.0, TypeError, "must be an integer; received 5.0"),
        (True, TypeError, "must be an integer; received True"),
        ("5", TypeError, "must be an integer; received '5'"),
    ],
)
def test_grid_size_rejected(grid_size, error, message):
    with pytest.raises(error, match=message):
        check_grid_size(grid_size)


def test_grid_size_uses_given_limits():
    small = Limits(max_grid_size=8)
    check_grid_size(8, small)
    with pytest.raises(ValueError, match="at most 8; received 9"):
        check_grid_size(9, small)


@pytest.mark.parametrize("widths", [[1, 1], [2, 5, 1], [10] * 7, (4, 10, 10, 1)])
def test_widths_accepted(widths):
    check_widths(widths)


@pytest.mark.parametrize(
    ("widths", "error", "message"),
    [
        ([1], ValueError, "at least an input and an output width"),
        ([], ValueError, "at least an input and an output width"),
        ([1] * 8, ValueError, "at most 6 layers; received 7 layers"),
        ([2, 11, 1], ValueError, r"widths\[1\] must be at most 10; received 11"),
        ([2, 0, 1], ValueError, r"widths\[1\] must be at least 1; received 0"),
        ([2, 5, -1], ValueError, r"widths\[2\] must be at least 1; received -1"),
        ([2, 2.5, 1], TypeError, r"widths\[1\] must be an integer; received 2.5"),
        ("251", TypeError, "must be a list of integers"),
        (3, TypeError, "must be a list of integers"),
    ],
)
def test_widths_rejected(widths, error, message):
    with pytest.raises(error, match=message):
        check_widths(widths)


@pytest.mark.parametrize("degree", [0, 1, 3, 5])
def test_degree_accepted(degree):
    check_degree(degree)


@pytest.mark.parametrize(
    ("degree", "error", "message"),
    [
        (-1, ValueError, "degree must be at least 0; received -1"),
        (6, ValueError, "degree must be at most 5; received 6"),
        (3.0, TypeError, "degree must be an integer"),
    ],
)
def test_degree_rejected(degree, error, message):
    with pytest.raises(error, match=message):
        check_degree(degree)


def test_samples_bounds():
    check_samples(1)
    check_samples(5000)
    with pytest.raises(ValueError, match="n_samples must be at most 5,000; received 5,001"):
        check_samples(5001)
    with pytest.raises(ValueError, match="n_samples must be at least 1; received 0"):
        check_samples(0)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        check_samples(100.0)


def test_steps_bounds():
    check_steps(1)
    check_steps(200)
    with pytest.raises(ValueError, match="n_steps must be at most 200; received 201"):
        check_steps(201)
    with pytest.raises(ValueError, match="n_steps must be at least 1; received 0"):
        check_steps(0)
    with pytest.raises(TypeError, match="n_steps must be an integer"):
        check_steps(None)


def test_numpy_integers_accepted():
    np = pytest.importorskip("numpy")
    check_grid_size(np.int64(5))
    check_widths([np.int32(2), np.int64(3), 1])


def test_parameter_count_bounds():
    check_parameter_count(1)
    check_parameter_count(200_000)
    message = "The parameter count must be at most 200,000; received 200,001"
    with pytest.raises(ValueError, match=message):
        check_parameter_count(200_001)
    with pytest.raises(ValueError, match="at least 1; received 0"):
        check_parameter_count(0)


def test_largest_kan_within_parameter_cap():
    # Per edge: G + k spline coefficients, two scales and four symbolic parameters a, b, c, d.
    n_layers = LIMITS.max_depth
    edges_per_layer = LIMITS.max_width**2
    per_edge = LIMITS.max_grid_size + LIMITS.max_degree + 2 + 4
    check_parameter_count(n_layers * edges_per_layer * per_edge)
