"""Tests of kan_core.bspline against SciPy's B-splines and closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kan_core.bspline import (
    bspline_basis,
    evaluate_spline,
    extend_grid,
    fit_coefficients,
    greville_abscissae,
    spline_derivative,
    uniform_grid,
    validate_knots,
)

DEGREES = range(6)


def random_knots(degree: int, seed: int, clamped: bool) -> torch.Tensor:
    """Non-uniform knots on [-1, 1]: clamped (repeated ends) or extended beyond the ends."""
    generator = torch.Generator().manual_seed(seed)
    inner = torch.rand(7, generator=generator, dtype=torch.float64) * 2 - 1
    inner = torch.sort(torch.cat([torch.tensor([-1.0, 1.0], dtype=torch.float64), inner])).values
    if clamped:
        return torch.cat([inner[:1].repeat(degree), inner, inner[-1:].repeat(degree)])
    return extend_grid(inner.unsqueeze(0), degree)[0]


def domain_points(knots: torch.Tensor, degree: int) -> torch.Tensor:
    """Random points of the domain plus every knot inside it and both ends."""
    n_basis = len(knots) - degree - 1
    lower, upper = knots[degree], knots[n_basis]
    generator = torch.Generator().manual_seed(99)
    inside = lower + (upper - lower) * torch.rand(200, generator=generator, dtype=torch.float64)
    return torch.cat([inside, knots[degree : n_basis + 1], torch.stack([lower, upper])])


@pytest.mark.parametrize("clamped", [True, False])
@pytest.mark.parametrize("degree", DEGREES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_basis_matches_scipy_design_matrix(degree, seed, clamped):
    knots = random_knots(degree, seed, clamped)
    x = domain_points(knots, degree)

    ours = bspline_basis(x.unsqueeze(1), knots.unsqueeze(0), degree)[:, 0]
    reference = BSpline.design_matrix(x.numpy(), knots.numpy(), degree).toarray()

    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=1e-12)


def test_basis_repeated_interior_knots_match_scipy():
    knots = torch.tensor([-1, -1, -1, -1, -0.2, 0.3, 0.3, 0.3, 0.7, 1, 1, 1, 1], dtype=torch.float64)
    x = domain_points(knots, 3)

    ours = bspline_basis(x.unsqueeze(1), knots.unsqueeze(0), 3)[:, 0]
    reference = BSpline.design_matrix(x.numpy(), knots.numpy(), 3).toarray()

    assert torch.isfinite(ours).all()
    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("degree", DEGREES)
def test_basis_partition_of_unity_on_domain(degree):
    grid = uniform_grid(7, (-2.0, 3.0))
    knots = extend_grid(grid, degree)
    x = torch.linspace(-2.0, 3.0, 501, dtype=torch.float64).unsqueeze(1)

    total = bspline_basis(x, knots, degree).sum(dim=-1)

    torch.testing.assert_close(total, torch.ones_like(total), rtol=0, atol=1e-13)


@pytest.mark.parametrize("degree", DEGREES)
def test_basis_local_support(degree):
    knots = random_knots(degree, seed=3, clamped=False)
    x = torch.linspace(knots[0].item() - 0.5, knots[-1].item() + 0.5, 997, dtype=torch.float64)

    basis = bspline_basis(x.unsqueeze(1), knots.unsqueeze(0), degree)[:, 0]

    for i in range(basis.shape[1]):
        outside = (x < knots[i]) | (x > knots[i + degree + 1])
        assert basis[outside, i].abs().max() == 0, f"basis {i} is non-zero outside its support"
        assert (basis[:, i] >= 0).all(), f"basis {i} is negative somewhere"
    nonzero = (basis > 0).sum(dim=1)
    assert nonzero.max() <= degree + 1


def test_basis_zero_outside_extended_grid():
    knots = extend_grid(uniform_grid(5), 3)
    x = torch.tensor([[-2.21], [2.21], [-10.0], [10.0]], dtype=torch.float64)  # extended grid is [-2.2, 2.2]

    basis = bspline_basis(x, knots, 3)

    assert basis.abs().max() == 0


def test_basis_without_extension_has_fewer_bases_near_ends():
    # Used as the whole knot vector, a grid's domain shrinks to [t_k, t_{m-k-1}]. At the grid's
    # own ends only one basis is non-zero, so the sum falls below one.
    grid = uniform_grid(8)
    x = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)

    basis = bspline_basis(x, grid, 3)

    assert (basis.sum(dim=-1) < 0.5).all()


@pytest.mark.parametrize("degree", DEGREES)
def test_extend_grid_keeps_end_spacing(degree):
    grid = torch.tensor([[0.0, 0.1, 0.5, 0.9, 1.2]], dtype=torch.float64)

    extended = extend_grid(grid, degree)

    assert extended.shape == (1, 5 + 2 * degree)
    torch.testing.assert_close(extended[:, degree : degree + 5], grid)
    steps = extended.diff(dim=1)[0]
    left_steps, right_steps = steps[:degree], steps[len(steps) - degree :]
    torch.testing.assert_close(left_steps, torch.full((degree,), 0.1, dtype=torch.float64))
    torch.testing.assert_close(right_steps, torch.full((degree,), 0.3, dtype=torch.float64))


@pytest.mark.parametrize("degree", range(4))
def test_fit_reproduces_any_spline_exactly(degree):
    generator = torch.Generator().manual_seed(degree)
    knots = random_knots(degree, seed=5, clamped=False).unsqueeze(0)
    n_basis = knots.shape[1] - degree - 1
    true_c = torch.randn(1, n_basis, generator=generator, dtype=torch.float64)
    x = torch.linspace(knots[0, degree].item(), knots[0, n_basis].item(), 400, dtype=torch.float64)
    y = evaluate_spline(x.unsqueeze(1), knots, true_c, degree)

    fitted = fit_coefficients(x.unsqueeze(1), y, knots, degree)

    torch.testing.assert_close(fitted, true_c, rtol=0, atol=1e-9)


def test_fit_several_outputs_per_feature():
    knots = extend_grid(uniform_grid(6, features=2), 3)
    x = torch.linspace(-1, 1, 300, dtype=torch.float64).unsqueeze(1).repeat(1, 2)
    true_c = torch.randn(2, 3, 9, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    y = evaluate_spline(x, knots, true_c, 3)

    fitted = fit_coefficients(x, y, knots, 3)

    torch.testing.assert_close(fitted, true_c, rtol=0, atol=1e-9)


def test_fit_rank_deficient_uses_ridge():
    # Samples only in the left half leave the right-hand bases untouched: the fallback must
    # still fit the samples and give those bases zero weight instead of NaN or huge values.
    knots = extend_grid(uniform_grid(10), 3)
    x = torch.linspace(-1, -0.2, 50, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(3 * x)

    fitted = fit_coefficients(x, y, knots, 3)

    assert torch.isfinite(fitted).all()
    assert fitted[0, -3:].abs().max() < 1e-6
    residual = evaluate_spline(x, knots, fitted, 3) - y
    assert residual.abs().max() < 1e-3


def test_fit_fewer_samples_than_bases_is_finite():
    knots = extend_grid(uniform_grid(20), 3)
    x = torch.tensor([[-0.5], [0.0], [0.5]], dtype=torch.float64)
    y = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)

    fitted = fit_coefficients(x, y, knots, 3)

    assert torch.isfinite(fitted).all()
    torch.testing.assert_close(evaluate_spline(x, knots, fitted, 3), y, rtol=0, atol=1e-5)


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_fit_error_decays_as_power_of_grid_size(degree):
    sizes = [8, 16, 32, 64]
    x = torch.linspace(-1, 1, 4000, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(math.pi * x)
    errors = []
    for size in sizes:
        knots = extend_grid(uniform_grid(size), degree)
        fitted = fit_coefficients(x, y, knots, degree)
        errors.append(torch.sqrt(((evaluate_spline(x, knots, fitted, degree) - y) ** 2).mean()).item())

    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]

    assert abs(slope + (degree + 1)) < 0.5, f"slope {slope:.2f}, expected {-(degree + 1)}"


@pytest.mark.parametrize("degree", [1, 2, 3, 4, 5])
def test_derivative_matches_scipy(degree):
    knots = random_knots(degree, seed=7, clamped=False)
    n_basis = len(knots) - degree - 1
    c = torch.randn(n_basis, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = torch.linspace(knots[degree].item(), knots[n_basis].item(), 333, dtype=torch.float64)[1:-1]

    ours = spline_derivative(x.unsqueeze(1), knots.unsqueeze(0), c.unsqueeze(0), degree)[:, 0]
    reference = BSpline(knots.numpy(), c.numpy(), degree).derivative()(x.numpy())

    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=1e-10)


def test_derivative_matches_finite_differences():
    knots = extend_grid(uniform_grid(6), 3)
    c = torch.randn(1, 9, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = torch.linspace(-0.95, 0.95, 101, dtype=torch.float64).unsqueeze(1)
    h = 1e-6

    central = (evaluate_spline(x + h, knots, c, 3) - evaluate_spline(x - h, knots, c, 3)) / (2 * h)

    torch.testing.assert_close(spline_derivative(x, knots, c, 3), central, rtol=0, atol=1e-7)


def test_greville_abscissae_closed_form():
    knots = torch.tensor([[0.0, 0.0, 0.0, 1.0, 3.0, 6.0, 6.0, 6.0]], dtype=torch.float64)

    xi = greville_abscissae(knots, 2)

    expected = torch.tensor([[0.0, 0.5, 2.0, 4.5, 6.0]], dtype=torch.float64)
    torch.testing.assert_close(xi, expected)


def test_invalid_degree_raises():
    knots = extend_grid(uniform_grid(4), 3)
    x = torch.zeros(2, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="degree must be between 0 and 5, got 6"):
        bspline_basis(x, knots, 6)
    with pytest.raises(ValueError, match="degree must be between 0 and 5, got -1"):
        bspline_basis(x, knots, -1)


def test_decreasing_knots_raise():
    with pytest.raises(ValueError, match=r"non-decreasing.*knot 2 \(0.1\).*knot 1 \(0.5\)"):
        validate_knots([0.0, 0.5, 0.1, 1.0])


def test_grid_size_below_one_raises():
    with pytest.raises(ValueError, match="grid_size must be at least 1, got 0"):
        uniform_grid(0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_x_raises(bad):
    knots = extend_grid(uniform_grid(4), 3)
    x = torch.tensor([[0.0], [bad]], dtype=torch.float64)
    with pytest.raises(ValueError, match="x must contain only finite numbers"):
        bspline_basis(x, knots, 3)


def test_non_finite_knots_raise():
    with pytest.raises(ValueError, match="knots must contain only finite numbers"):
        validate_knots([0.0, math.nan, 1.0])


def test_mismatched_shapes_raise():
    knots = extend_grid(uniform_grid(4, features=2), 3)
    with pytest.raises(ValueError, match="x has 3 features but knots has 2 rows"):
        bspline_basis(torch.zeros(5, 3, dtype=torch.float64), knots, 3)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, features\)"):
        bspline_basis(torch.zeros(5, dtype=torch.float64), knots, 3)
    with pytest.raises(ValueError, match="y must start with the shape of x"):
        fit_coefficients(torch.zeros(5, 2, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64), knots, 3)


def test_too_few_knots_raise():
    with pytest.raises(ValueError, match="a degree-3 spline needs at least 5 knots, got 4"):
        bspline_basis(torch.zeros(1, 1, dtype=torch.float64), torch.tensor([[0.0, 1.0, 2.0, 3.0]]), 3)


def test_reversed_range_raises():
    with pytest.raises(ValueError, match=r"lower < upper, got \(1.0, -1.0\)"):
        uniform_grid(4, (1.0, -1.0))
