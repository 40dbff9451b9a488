"""Tests of kan_core.grids: refinement, adaptive grids and counts of inputs outside the grid."""

import numpy as np
import pytest
import torch

from kan_core.bspline import extend_grid, fit_coefficients
from kan_core.grids import (
    MIN_SPACING_FRACTION,
    adaptive_grid,
    count_outside_grid,
    refine,
    refined_grid,
    update_grid_from_samples,
)
from kan_core.layer import KANLayer
from kan_core.model import KAN

DTYPE = torch.float64


def non_uniform_grid(grid_size: int, features: int) -> torch.Tensor:
    """A grid on [-1, 1] whose intervals shrink towards the middle: t = u^3 + u / 2, rescaled."""
    u = torch.linspace(-1, 1, grid_size + 1, dtype=DTYPE)
    row = (u**3 + u / 2) / 1.5
    return row.expand(features, -1).clone()


def smooth_layer(grid: torch.Tensor, degree: int, out_features: int = 2) -> KANLayer:
    """A layer whose spline on edge (i, j) is the least-squares fit of sin((i + j + 1) x + j)."""
    in_features = grid.shape[0]
    layer = KANLayer(in_features, out_features, grid.shape[1] - 1, degree, dtype=DTYPE)
    x = torch.linspace(-1, 1, 400, dtype=DTYPE)[:, None].expand(-1, in_features)
    i = torch.arange(in_features, dtype=DTYPE)[:, None]
    j = torch.arange(out_features, dtype=DTYPE)[None, :]
    y = torch.sin((i + j + 1) * x[:, :, None] + j)  # (batch, in, out)
    layer.set_grid(grid, fit_coefficients(x.contiguous(), y, extend_grid(grid, degree), degree))
    return layer


def dense_points(features: int, lower: float = -1.0, upper: float = 1.0) -> torch.Tensor:
    return torch.linspace(lower, upper, 2001, dtype=DTYPE)[:, None].expand(-1, features).contiguous()


def relative_error(after: torch.Tensor, before: torch.Tensor) -> float:
    return ((after - before).abs().max() / before.abs().max()).item()


# ----------------------------------------------------------------------------- refine


def test_refined_grid_contains_old_knots():
    grid = non_uniform_grid(5, 2)
    refined = refined_grid(grid, 15)
    assert refined.shape == (2, 16)
    torch.testing.assert_close(refined[:, ::3], grid, rtol=0, atol=1e-15)


def test_refined_grid_interpolates_knot_positions():
    grid = non_uniform_grid(4, 1)
    refined = refined_grid(grid, 6)
    expected = np.interp(np.arange(7) * 4 / 6, np.arange(5), grid[0].numpy())
    np.testing.assert_allclose(refined[0].numpy(), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("sizes", [(5, 10), (4, 12), (3, 9)])
def test_refine_preserves_function(degree, uniform, sizes):
    old_size, new_size = sizes
    grid = torch.linspace(-1, 1, old_size + 1, dtype=DTYPE).expand(2, -1) if uniform else (
        non_uniform_grid(old_size, 2)
    )
    layer = smooth_layer(grid.contiguous(), degree, out_features=3)
    x = dense_points(2)
    with torch.no_grad():
        before = layer(x)

    refine(layer, new_size)

    with torch.no_grad():
        after = layer(x)
    assert layer.grid_size == new_size
    assert layer.coef.shape == (2, 3, new_size + degree)
    # The new spline space contains the old one, so the fit is exact up to rounding.
    assert relative_error(after, before) < 1e-10


def test_refine_model_preserves_function_and_other_paths():
    model = KAN([2, 3, 1], grid_size=5, degree=3, grid_range=[(-1, 1), (-4, 4)], dtype=DTYPE, seed=3)
    x = dense_points(2)
    with torch.no_grad():
        before = model(x)
    scales = [(layer.scale_base.clone(), layer.scale_spline.clone()) for layer in model.layers]
    symbolic = [layer.symbolic_params.clone() for layer in model.layers]

    refine(model, [10, 20])

    with torch.no_grad():
        after = model(x)
    assert [layer.grid_size for layer in model.layers] == [10, 20]
    assert relative_error(after, before) < 1e-10
    for layer, (scale_base, scale_spline), params in zip(model.layers, scales, symbolic):
        assert torch.equal(layer.scale_base, scale_base)
        assert torch.equal(layer.scale_spline, scale_spline)
        assert torch.equal(layer.symbolic_params, params)


def test_refine_float32_model_within_float32_rounding():
    model = KAN([1, 1], grid_size=5, dtype=torch.float32, seed=0)
    x = torch.linspace(-1, 1, 501)[:, None]
    with torch.no_grad():
        before = model(x)
    refine(model, 10)
    with torch.no_grad():
        after = model(x)
    assert relative_error(after.double(), before.double()) < 1e-6


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_refine_to_non_multiple_size_approximates_smooth_curve(degree):
    # G = 20 -> 30 does not contain the old knots, so the refit is an approximation of a smooth
    # spline on a finer grid; the bound below is a few times the measured error at each degree.
    layer = smooth_layer(torch.linspace(-1, 1, 21, dtype=DTYPE)[None, :], degree)
    x = dense_points(1)
    with torch.no_grad():
        before = layer(x)
    refine(layer, 30)
    with torch.no_grad():
        after = layer(x)
    tolerance = {1: 2e-2, 2: 2e-3, 3: 5e-4}[degree]
    assert relative_error(after, before) < tolerance


def test_refine_with_samples_keeps_function_on_samples():
    layer = smooth_layer(non_uniform_grid(6, 2), 3)
    generator = torch.Generator().manual_seed(0)
    samples = torch.rand(300, 2, generator=generator, dtype=DTYPE) * 2 - 1
    with torch.no_grad():
        before = layer(samples)
    refine(layer, 12, samples=samples)
    with torch.no_grad():
        after = layer(samples)
    assert relative_error(after, before) < 1e-10


def test_refine_rejects_bad_sizes():
    model = KAN([2, 2, 1], grid_size=5, dtype=DTYPE)
    with pytest.raises(ValueError, match="new_grid_size must be at least 1, got 0"):
        refine(model, 0)
    with pytest.raises(ValueError, match=r"one per layer \(2\), got 3 values"):
        refine(model, [5, 6, 7])
    with pytest.raises(TypeError, match="new_grid_size must be an int, got float"):
        refine(model, 7.5)
    with pytest.raises(TypeError, match="refine needs a KAN or a KANLayer, got str"):
        refine("model", 10)


def test_refine_rejects_bad_samples():
    model = KAN([2, 1], grid_size=5, dtype=DTYPE)
    with pytest.raises(ValueError, match="samples must have 2 columns, one per input, got 3"):
        refine(model, 10, samples=torch.zeros(4, 3, dtype=DTYPE))
    with pytest.raises(ValueError, match="finite"):
        refine(model, 10, samples=torch.full((4, 2), float("nan"), dtype=DTYPE))


# ----------------------------------------------------------------------------- adaptive grid


def clustered_samples(batch: int, features: int, seed: int) -> torch.Tensor:
    """80% of the rows share one value per feature; the rest are uniform on [-0.9, 0.9]."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, features, generator=generator, dtype=DTYPE) * 1.8 - 0.9
    x[: int(0.8 * batch)] = torch.linspace(-0.3, 0.4, features, dtype=DTYPE)
    return x


def test_adaptive_grid_eps_one_is_uniform_with_margin():
    x = torch.tensor([[-0.5], [0.1], [0.2], [0.3]], dtype=DTYPE)
    grid = adaptive_grid(x, 4, grid_eps=1.0, margin=0.1)
    expected = torch.linspace(-0.5 - 0.08, 0.3 + 0.08, 5, dtype=DTYPE)
    torch.testing.assert_close(grid[0], expected, rtol=0, atol=1e-15)


def test_adaptive_grid_eps_zero_is_quantiles():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(500, 2, generator=generator, dtype=DTYPE)
    grid = adaptive_grid(x, 8, grid_eps=0.0, margin=0.0)
    expected = np.quantile(x.numpy(), np.linspace(0, 1, 9), axis=0).T
    np.testing.assert_allclose(grid.numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("grid_eps", [0.0, 0.02, 0.5, 1.0])
def test_adaptive_grid_duplicates_keep_min_spacing(grid_eps):
    x = clustered_samples(1000, 3, seed=2)
    grid = adaptive_grid(x, 20, grid_eps=grid_eps)
    assert torch.isfinite(grid).all()
    steps = grid[:, 1:] - grid[:, :-1]
    width = grid[:, -1:] - grid[:, :1]
    assert (steps >= MIN_SPACING_FRACTION * width / 20 * (1 - 1e-9)).all()
    assert (grid[:, 0] <= x.min(dim=0).values).all()
    assert (grid[:, -1] >= x.max(dim=0).values).all()


def test_adaptive_grid_constant_feature_gets_width_two():
    x = torch.full((50, 1), 0.25, dtype=DTYPE)
    grid = adaptive_grid(x, 5, grid_eps=0.0)
    torch.testing.assert_close(grid[0], torch.linspace(-0.75, 1.25, 6, dtype=DTYPE))


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("duplicates", [False, True])
def test_update_grid_keeps_polynomial_exactly(degree, duplicates):
    # A polynomial of degree <= k lies in every degree-k spline space on its domain, so moving
    # the knots must reproduce it up to rounding. Samples stay inside the old grid with margin.
    features = 2
    grid = torch.linspace(-1, 1, 11, dtype=DTYPE).expand(features, -1).contiguous()
    layer = KANLayer(features, 1, 10, degree, dtype=DTYPE)
    x_fit = dense_points(features)
    powers = [0.3, 1.0, -0.5, 0.8][: degree + 1]
    y_fit = sum(c * x_fit**p for p, c in enumerate(powers))[:, :, None]
    layer.set_grid(grid, fit_coefficients(x_fit, y_fit, extend_grid(grid, degree), degree))
    generator = torch.Generator().manual_seed(5)
    samples = torch.rand(1000, features, generator=generator, dtype=DTYPE) * 1.6 - 0.8
    if duplicates:
        samples = clustered_samples(1000, features, seed=5) * 0.85
    with torch.no_grad():
        before = layer(samples)

    update_grid_from_samples(layer, samples, grid_eps=0.02)

    with torch.no_grad():
        after = layer(samples)
    assert torch.isfinite(layer.coef).all()
    assert relative_error(after, before) < 1e-9


def test_update_grid_keeps_smooth_function_on_samples():
    # The new knots are not a superset of the old ones, so the refit only approximates the old
    # spline, which is close to sin(3 x). The interpolation bound (5/384) h^4 max|f''''| with
    # |f''''| <= 81 and the widest new interval h = 0.21 (where samples are sparse) is 2e-3.
    # Least squares weighs the dense samples more and measures 5e-5, so 2e-4 is a 4x margin.
    layer = smooth_layer(torch.linspace(-1, 1, 21, dtype=DTYPE).expand(2, -1).contiguous(), 3)
    generator = torch.Generator().manual_seed(0)
    samples = (torch.rand(1000, 2, generator=generator, dtype=DTYPE) * 1.6 - 0.8) ** 3 * 1.5
    with torch.no_grad():
        before = layer(samples)

    update_grid_from_samples(layer, samples, grid_eps=0.02)

    with torch.no_grad():
        after = layer(samples)
    assert relative_error(after, before) < 2e-4
    assert (layer.grid[:, 0] <= samples.min(dim=0).values).all()


def test_update_grid_with_duplicates_never_gives_nan():
    model = KAN([3, 2, 1], grid_size=10, dtype=DTYPE, seed=1)
    samples = clustered_samples(500, 3, seed=4)
    update_grid_from_samples(model, samples, grid_eps=0.0, margin=0.0)
    for layer in model.layers:
        assert torch.isfinite(layer.coef).all()
        assert ((layer.grid[:, 1:] - layer.grid[:, :-1]) > 0).all()
    with torch.no_grad():
        assert torch.isfinite(model(samples)).all()


def test_update_grid_model_covers_every_layers_inputs():
    model = KAN([2, 3, 1], grid_size=5, dtype=DTYPE, seed=0, noise_scale=2.0)
    generator = torch.Generator().manual_seed(0)
    samples = torch.rand(400, 2, generator=generator, dtype=DTYPE) * 3 - 1.5
    update_grid_from_samples(model, samples, grid_eps=0.5, margin=0.05)
    counts = count_outside_grid(model, samples)
    assert [c.tolist() for c in counts] == [[0, 0], [0, 0, 0]]


def test_update_grid_new_size():
    model = KAN([2, 1], grid_size=5, dtype=DTYPE, seed=0)
    samples = torch.rand(200, 2, generator=torch.Generator().manual_seed(0), dtype=DTYPE)
    update_grid_from_samples(model, samples, grid_eps=1.0, grid_size=8)
    assert model.layers[0].grid_size == 8
    assert model.layers[0].coef.shape == (2, 1, 8 + 3)


@pytest.mark.parametrize("grid_eps", [-0.1, 1.5, float("nan")])
def test_update_grid_rejects_grid_eps_outside_unit_interval(grid_eps):
    layer = KANLayer(1, 1, dtype=DTYPE)
    with pytest.raises(ValueError, match="grid_eps must be between 0 and 1"):
        update_grid_from_samples(layer, torch.zeros(5, 1, dtype=DTYPE), grid_eps=grid_eps)


def test_update_grid_rejects_negative_margin():
    layer = KANLayer(1, 1, dtype=DTYPE)
    with pytest.raises(ValueError, match=r"margin must be a finite number >= 0, got -0.5"):
        update_grid_from_samples(layer, torch.zeros(5, 1, dtype=DTYPE), margin=-0.5)


def test_update_grid_rejects_empty_samples():
    layer = KANLayer(1, 1, dtype=DTYPE)
    with pytest.raises(ValueError, match="at least one row"):
        update_grid_from_samples(layer, torch.zeros(0, 1, dtype=DTYPE))


# ----------------------------------------------------------------------------- outside counts


def test_count_outside_grid_layer_matches_numpy():
    layer = KANLayer(2, 1, dtype=DTYPE)
    layer.set_grid(non_uniform_grid(5, 2) * torch.tensor([[1.0], [0.5]], dtype=DTYPE), layer.coef)
    x = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0), dtype=DTYPE)
    counts = count_outside_grid(layer, x)
    grid = layer.grid.numpy()
    expected = ((x.numpy() < grid[:, 0]) | (x.numpy() > grid[:, -1])).sum(axis=0)
    assert counts.tolist() == expected.tolist()


def test_count_outside_grid_model_counts_hidden_values():
    model = KAN([1, 2, 1], grid_size=5, dtype=DTYPE, seed=0)
    x = torch.linspace(-2, 2, 401, dtype=DTYPE)[:, None]
    counts = count_outside_grid(model, x)
    with torch.no_grad():
        hidden = model.layers[0](x).numpy()
    expected_hidden = ((hidden < -1) | (hidden > 1)).sum(axis=0)
    assert counts[0].tolist() == [200]  # |x| > 1 for 100 points on each side
    assert counts[1].tolist() == expected_hidden.tolist()


def test_refine_above_session_cap_raises():
    from kan_core.limits import LIMITS
    from kan_core.model import KAN

    model = KAN([1, 1], grid_size=5, dtype=torch.float64, seed=0)
    with pytest.raises(ValueError, match=f"grid_size must be at most {LIMITS.max_grid_size}"):
        refine(model, LIMITS.max_grid_size + 1)
