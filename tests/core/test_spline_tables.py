"""Tests of kan_core.spline_tables against SciPy's B-splines and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import BSpline

from kan_core.spline_tables import (
    basis_table,
    knot_multiplicities,
    knot_vector,
    random_coefficients,
    spline_curve,
)


def test_knot_vector_extends_uniform_grid():
    knots = knot_vector(3, grid_size=5, grid_range=(-1.0, 1.0))

    np.testing.assert_allclose(knots, np.linspace(-2.2, 2.2, 12), atol=1e-15)


def test_knot_vector_without_extension_is_grid():
    knots = knot_vector(2, grid=[-1.0, 0.0, 0.0, 0.5, 1.0], extend=False)

    np.testing.assert_array_equal(knots, [-1.0, 0.0, 0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [({"grid": [1.0, 1.0]}, "greater than the first"),
     ({"grid": [0.0, 1.0, 0.5]}, "non-decreasing"),
     ({"grid_size": 2, "extend": False}, "at least 5 knots"),
     ({"grid_range": (1.0, 1.0)}, "lower < upper")],
)
def test_knot_vector_rejects_invalid_grid(kwargs, message):
    with pytest.raises(ValueError, match=message):
        knot_vector(3, **kwargs)


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("extend", [True, False])
def test_basis_table_matches_scipy(degree, extend):
    knots = knot_vector(degree, grid=[-1.0, -0.3, 0.0, 0.0, 0.4, 0.7, 1.0, 1.2], extend=extend)
    table = basis_table(knots, degree)

    # SciPy evaluates each basis on its own knots t_i .. t_{i+k+1}, NaN outside, and closes
    # each basis's right end, so where a basis jumps (at a knot) the two conventions differ.
    # Points exactly on a knot are left out for that reason.
    inside = (table.x > knots[0]) & (table.x < knots[-1]) & ~np.isin(table.x, knots)
    n_basis = len(knots) - degree - 1
    reference = np.column_stack([
        np.nan_to_num(BSpline.basis_element(knots[i : i + degree + 2], extrapolate=False)(table.x[inside]))
        for i in range(n_basis)
    ])
    np.testing.assert_allclose(table.basis[inside], reference, atol=1e-12)
    outside = (table.x < knots[0]) | (table.x > knots[-1])
    np.testing.assert_array_equal(table.basis[outside], 0.0)


@pytest.mark.parametrize("degree", [0, 1, 3, 4])
def test_basis_partition_of_unity_on_domain(degree):
    knots = knot_vector(degree, grid_size=6, grid_range=(-2.0, 3.0))
    table = basis_table(knots, degree)

    inside = (table.x >= -2.0) & (table.x <= 3.0)
    np.testing.assert_allclose(table.total[inside], 1.0, atol=1e-12)
    assert table.domain == pytest.approx((-2.0, 3.0))


def test_nonzero_count_shows_boundary_effect():
    degree = 3
    knots = knot_vector(degree, grid_size=8, grid_range=(-1.0, 1.0), extend=False)
    table = basis_table(knots, degree)
    x, count = table.count_x, table.nonzero_count

    # Domain [t_3, t_5] = [-0.25, 0.25]: k + 1 bases; first interval [-1, -0.75]: one.
    assert set(count[(x > -0.25) & (x < 0.25)]) == {4}
    assert set(count[(x > -1.0) & (x < -0.75)]) == {1}
    assert set(count[x < -1.0]) == {0}
    assert not np.isin(x, knots).any()


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_spline_curve_matches_scipy(degree):
    knots = knot_vector(degree, grid_size=7, grid_range=(-1.0, 1.0))
    coefficients = random_coefficients(len(knots) - degree - 1, seed=3)
    curve = spline_curve(knots, degree, coefficients)

    reference = BSpline(knots, coefficients, degree, extrapolate=False)
    # SciPy evaluates a spline only on its base interval [t_k, t_n], the grid range here.
    inside = (curve.x >= -1.0) & (curve.x < 1.0)
    np.testing.assert_allclose(curve.y[inside], reference(curve.x[inside]), atol=1e-12)
    # The derivative jumps at knots for degree 1; compare away from them.
    away = inside & (np.min(np.abs(curve.x[:, None] - knots[None, :]), axis=1) > 1e-9)
    np.testing.assert_allclose(
        curve.derivative[away], reference.derivative()(curve.x[away]), atol=1e-10
    )


def test_spline_curve_supports_span_k_plus_one_intervals():
    knots = knot_vector(3, grid_size=5)
    curve = spline_curve(knots, 3, np.zeros(8))

    np.testing.assert_allclose(curve.supports[:, 0], knots[:8])
    np.testing.assert_allclose(curve.supports[:, 1], knots[4:])


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_greville_coefficients_reproduce_line(degree):
    knots = knot_vector(degree, grid=[-1.0, -0.6, 0.1, 0.3, 1.0])
    greville = spline_curve(knots, degree, np.zeros(len(knots) - degree - 1)).greville

    curve = spline_curve(knots, degree, greville)

    inside = (curve.x >= -1.0) & (curve.x <= 1.0)
    np.testing.assert_allclose(curve.y[inside], curve.x[inside], atol=1e-12)


def test_spline_curve_rejects_wrong_length():
    with pytest.raises(ValueError, match="8 entries"):
        spline_curve(knot_vector(3, grid_size=5), 3, [0.0] * 7)


def test_random_coefficients_seeded_and_bounded():
    first = random_coefficients(50, seed=11)
    second = random_coefficients(50, seed=11)
    other = random_coefficients(50, seed=12)

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert np.abs(first).max() <= 1.0
    np.testing.assert_allclose(first, np.round(first, 2))


def test_knot_multiplicities_count_repeats():
    assert knot_multiplicities([-1.0, 0.0, 0.0, 0.0, 1.0]) == [1, 3, 3, 3, 1]
