"""Tests of kan_core.approximation against SciPy's least squares and known error rates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kan_core.approximation import fit_error_sweep, fit_target
from kan_core.bspline import evaluate_spline, extend_grid, fit_coefficients, uniform_grid
from kan_core.spline_tables import knot_vector
from kan_core.targets import TARGETS, make_dataset


def _slope(sweep, degree_row: int, low: int, high: int) -> float:
    sizes = list(sweep.grid_sizes)
    i, j = sizes.index(low), sizes.index(high)
    return float(np.log(sweep.rmse[degree_row, j] / sweep.rmse[degree_row, i]) / np.log(high / low))


def test_fit_target_matches_scipy_least_squares():
    degree = 3
    knots = knot_vector(degree, grid_size=6)
    fit = fit_target(
        TARGETS["sin_pi_exp_x"], knots, degree, sample_range=(-1.0, 1.0),
        n_samples=300, noise=0.05, seed=4,
    )

    design = BSpline.design_matrix(fit.train_x, knots, degree).toarray()
    expected, *_ = np.linalg.lstsq(design, fit.train_y, rcond=None)
    np.testing.assert_allclose(fit.coefficients, expected, atol=1e-8)
    residual = BSpline(knots, expected, degree)(fit.test_x) - fit.test_y
    assert fit.rmse_test == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-9)


def test_fit_target_rejects_two_input_target():
    with pytest.raises(ValueError, match="one input"):
        fit_target(TARGETS["x_times_y"], knot_vector(3), 3, sample_range=(-1.0, 1.0))


def test_error_sweep_slopes_follow_degree():
    sweep = fit_error_sweep(TARGETS["sin_pi_x"], grid_range=(-1.0, 1.0), n_samples=2000)

    for row, degree in enumerate(sweep.degrees):
        assert _slope(sweep, row, 8, 24) == pytest.approx(-(degree + 1), abs=0.35)


def test_error_sweep_reference_has_theory_slope():
    sweep = fit_error_sweep(TARGETS["sin_pi_x"], grid_range=(-1.0, 1.0), n_samples=400)
    sizes = sweep.grid_sizes.astype(float)

    for row, degree in enumerate(sweep.degrees):
        slopes = np.diff(np.log(sweep.reference[row])) / np.diff(np.log(sizes))
        np.testing.assert_allclose(slopes, -(degree + 1), atol=1e-12)


def test_error_sweep_kink_slows_cubic():
    sweep = fit_error_sweep(TARGETS["abs_x"], grid_range=(-1.0, 1.0), n_samples=2000)

    # |x| has a kink at 0, so the cubic cannot reach its smooth rate of -4.
    assert _slope(sweep, 3, 8, 24) > -2.5


def test_error_sweep_matches_direct_fit():
    sweep = fit_error_sweep(
        TARGETS["sin_pi_exp_x"], grid_range=(-1.0, 1.0), grid_sizes=(3, 8), degrees=(1, 3),
        n_samples=300, noise=0.1, seed=5, points=501,
    )

    data = make_dataset(TARGETS["sin_pi_exp_x"], 300, noise=0.1, seed=5, ranges=[(-1.0, 1.0)])
    knots = extend_grid(uniform_grid(8, (-1.0, 1.0)), 3)
    c = fit_coefficients(data.train_input, data.train_label, knots, 3)
    x = torch.linspace(-1.0, 1.0, 501, dtype=torch.float64)[:, None]
    error = evaluate_spline(x, knots, c, 3) - TARGETS["sin_pi_exp_x"](x)
    assert sweep.rmse[1, 1] == pytest.approx(torch.sqrt(torch.mean(error**2)).item(), rel=1e-10)
