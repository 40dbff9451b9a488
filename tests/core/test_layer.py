"""KANLayer against a naive per-edge sum built on the reference basis."""

import math

import pytest
import torch
from torch.func import functional_call

from kan_core.bspline import bspline_basis, extend_grid, uniform_grid
from kan_core.layer import KANLayer

TOLERANCE = 1e-12


def _nonuniform_grid() -> torch.Tensor:
    return torch.tensor(
        [
            [-1.0, -0.8, -0.7, -0.1, 0.05, 0.6, 1.0],
            [-1.5, -1.0, 0.0, 0.2, 0.3, 0.9, 1.2],
            [-1.0, -0.99, -0.5, 0.0, 0.5, 0.99, 1.0],
        ],
        dtype=torch.float64,
    )


def _randomised_layer(grid: torch.Tensor | None = None, degree: int = 3, seed: int = 0) -> KANLayer:
    generator = torch.Generator().manual_seed(seed)
    layer = KANLayer(3, 2, grid_size=6, degree=degree, dtype=torch.float64, generator=generator)
    if grid is not None:
        coef = torch.randn(3, 2, grid.shape[1] - 1 + degree, generator=generator, dtype=torch.float64)
        layer.set_grid(grid, coef)
    with torch.no_grad():
        layer.coef.normal_(generator=generator)
        layer.scale_base.uniform_(-1.0, 1.0, generator=generator)
        layer.scale_spline.uniform_(0.5, 1.5, generator=generator)
        layer.spline_mask[2, 1] = 0.0
    return layer


def _naive_forward(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    # One edge at a time, straight from the definition.
    basis = bspline_basis(x, layer.knots, layer.degree)
    out = torch.zeros(x.shape[0], layer.out_features, dtype=x.dtype)
    for i in range(layer.in_features):
        for j in range(layer.out_features):
            spline = basis[:, i, :] @ layer.coef[i, j]
            base = torch.nn.functional.silu(x[:, i])
            if layer.base_activation is None:
                base = torch.zeros_like(base)
            edge = layer.scale_base[i, j] * base + layer.scale_spline[i, j] * spline
            out[:, j] += layer.spline_mask[i, j] * edge
    return out


def _points(layer: KANLayer, count: int = 300) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    lower, upper = layer.knots[:, 0], layer.knots[:, -1]
    width = upper - lower
    x = lower - 0.2 * width + torch.rand(count, 3, generator=generator, dtype=torch.float64) * (
        1.4 * width
    )
    return torch.cat([x, layer.grid.T, layer.knots.T])


@pytest.mark.parametrize("grid_kind", ["uniform", "nonuniform"])
@pytest.mark.parametrize("degree", [0, 1, 2, 3, 5])
def test_forward_matches_naive_sum(grid_kind, degree):
    grid = _nonuniform_grid() if grid_kind == "nonuniform" else None
    layer = _randomised_layer(grid, degree)
    x = _points(layer)

    error = (layer(x) - _naive_forward(layer, x)).abs().max().item()

    assert error <= TOLERANCE


def test_forward_without_base_matches_naive_sum():
    generator = torch.Generator().manual_seed(1)
    layer = KANLayer(3, 2, grid_size=4, base_activation=None, dtype=torch.float64, generator=generator)
    x = _points(layer)

    error = (layer(x) - _naive_forward(layer, x)).abs().max().item()

    assert error <= TOLERANCE


@pytest.mark.parametrize("grid_kind", ["uniform", "nonuniform"])
def test_layer_gradcheck(grid_kind):
    grid = _nonuniform_grid() if grid_kind == "nonuniform" else None
    layer = _randomised_layer(grid, degree=3, seed=2)
    generator = torch.Generator().manual_seed(3)
    # Points strictly inside the grid and away from the knots, where the spline is smooth.
    x = (torch.rand(8, 3, generator=generator, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    names = ("coef", "scale_base", "scale_spline")
    params = tuple(getattr(layer, name).detach().clone().requires_grad_() for name in names)

    def evaluate(points, *values):
        return functional_call(layer, dict(zip(names, values)), (points,))

    assert torch.autograd.gradcheck(evaluate, (x, *params))


def test_layer_gradcheck_outside_grid():
    # Beyond the extended grid only the base term depends on x.
    layer = _randomised_layer(seed=6)
    x = torch.tensor([[-3.0, 2.5, 0.3], [4.0, -2.2, -0.45]], dtype=torch.float64)
    x.requires_grad_(True)

    assert torch.autograd.gradcheck(layer, (x,))


def test_layer_gradcheck_degree_one_without_base():
    generator = torch.Generator().manual_seed(4)
    layer = KANLayer(2, 3, grid_size=5, degree=1, base_activation=None, dtype=torch.float64,
                     generator=generator)
    with torch.no_grad():
        layer.coef.normal_(generator=generator)
    x = (torch.rand(6, 2, generator=generator, dtype=torch.float64) * 1.8 - 0.9).requires_grad_()
    coef = layer.coef.detach().clone().requires_grad_()

    def evaluate(points, values):
        return functional_call(layer, {"coef": values}, (points,))

    assert torch.autograd.gradcheck(evaluate, (x, coef))


def test_spline_vanishes_outside_extended_grid():
    layer = _randomised_layer()
    x = torch.tensor([[-5.0, 7.0, -3.0], [9.0, -4.0, 2.5]], dtype=torch.float64)

    parts = layer.edge_components(x)

    assert torch.equal(parts["spline"], torch.zeros_like(parts["spline"]))
    base_only = (torch.nn.functional.silu(x).unsqueeze(-1) * layer.scale_base * layer.spline_mask).sum(1)
    assert (layer(x) - base_only).abs().max().item() <= TOLERANCE


def test_edge_outputs_sum_to_forward():
    layer = _randomised_layer(_nonuniform_grid())
    x = _points(layer)

    edges = layer.edge_outputs(x)

    assert edges.shape == (x.shape[0], 3, 2)
    assert (edges.sum(1) - layer(x)).abs().max().item() <= TOLERANCE


def test_edge_components_match_definition():
    layer = _randomised_layer()
    x = _points(layer)

    parts = layer.edge_components(x)

    basis = bspline_basis(x, layer.knots, layer.degree)
    spline = torch.einsum("bin,ion->bio", basis, layer.coef) * layer.scale_spline * layer.spline_mask
    base = torch.nn.functional.silu(x).unsqueeze(-1) * layer.scale_base * layer.spline_mask
    assert (parts["spline"] - spline).abs().max().item() <= TOLERANCE
    assert (parts["base"] - base).abs().max().item() <= TOLERANCE
    assert torch.equal(parts["symbolic"], torch.zeros_like(spline))


def test_symbolic_edge_adds_formula():
    layer = _randomised_layer()
    x = _points(layer)
    before = layer(x).detach()
    a, b, c, d = 1.5, 2.0, -0.3, 0.25

    with torch.no_grad():
        layer.symbolic_params[1, 0] = torch.tensor([a, b, c, d], dtype=torch.float64)
        layer.symbolic_mask[1, 0] = 1.0
    layer.symbolic_names[1][0] = "sin"
    after = layer(x).detach()

    expected = a * torch.sin(b * x[:, 1] + c) + d
    assert (after[:, 0] - before[:, 0] - expected).abs().max().item() <= TOLERANCE
    assert (after[:, 1] - before[:, 1]).abs().max().item() == 0.0
    assert (layer.edge_outputs(x).sum(1) - after).abs().max().item() <= TOLERANCE


def test_symbolic_only_edge_is_exact_formula():
    layer = KANLayer(1, 1, dtype=torch.float64)
    with torch.no_grad():
        layer.spline_mask.zero_()
        layer.symbolic_mask.fill_(1.0)
        layer.symbolic_params[0, 0] = torch.tensor([2.0, 1.0, 0.0, -1.0], dtype=torch.float64)
    layer.symbolic_names[0][0] = "x^2"
    x = torch.linspace(-3, 3, 50, dtype=torch.float64).unsqueeze(1)

    assert (layer(x) - (2 * x**2 - 1)).abs().max().item() <= TOLERANCE


def test_symbolic_gradient_reaches_params():
    layer = KANLayer(1, 1, dtype=torch.float64)
    with torch.no_grad():
        layer.symbolic_mask.fill_(1.0)
    layer.symbolic_names[0][0] = "exp"
    x = torch.linspace(-1, 1, 20, dtype=torch.float64).unsqueeze(1)

    layer(x).sum().backward()

    grad = layer.symbolic_params.grad[0, 0]
    assert grad[0].item() == pytest.approx(torch.exp(x).sum().item(), rel=1e-12)
    assert grad[3].item() == pytest.approx(20.0, rel=1e-12)


def test_symbolic_edge_without_name_raises():
    layer = KANLayer(2, 1)
    with torch.no_grad():
        layer.symbolic_mask[1, 0] = 1.0
    with pytest.raises(ValueError, match=r"symbolic edge \(1, 0\) is switched on but has no function"):
        layer(torch.zeros(3, 2))


def test_set_grid_replaces_grid_and_keeps_parameter():
    layer = _randomised_layer()
    coef_parameter = layer.coef
    grid = uniform_grid(9, (-2.0, 2.0), features=3)
    coef = torch.randn(3, 2, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64)

    layer.set_grid(grid, coef)

    assert layer.coef is coef_parameter
    assert layer.grid_size == 9
    assert torch.equal(layer.knots, extend_grid(grid, 3))
    x = _points(layer)
    assert (layer(x) - _naive_forward(layer, x)).abs().max().item() <= TOLERANCE


def test_set_grid_rejects_wrong_coef_shape():
    layer = KANLayer(3, 2)
    with pytest.raises(ValueError, match=r"coef must have shape \(3, 2, 8\), got \(3, 2, 7\)"):
        layer.set_grid(uniform_grid(5, features=3), torch.zeros(3, 2, 7))


def test_load_state_dict_refreshes_cached_knots():
    source = _randomised_layer(_nonuniform_grid(), seed=8)
    target = _randomised_layer(seed=9)
    x = _points(target)
    target(x)  # fills the cache with the uniform grid

    target.load_state_dict(source.state_dict())

    assert (target(x) - source(x)).abs().max().item() <= TOLERANCE


def test_dtype_conversion_refreshes_cache():
    layer = KANLayer(2, 2, generator=torch.Generator().manual_seed(0))
    x = torch.rand(10, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    single = layer(x).detach()

    layer.double()

    double = layer(x.double()).detach()
    assert double.dtype == torch.float64
    assert (double - single.double()).abs().max().item() <= 1e-6


def test_initialisation_follows_documented_rule():
    layer = KANLayer(4, 3, grid_size=7, noise_scale=0.2, generator=torch.Generator().manual_seed(0))

    assert layer.coef.shape == (4, 3, 10)
    assert layer.coef.abs().max().item() <= 0.1
    assert layer.coef.std().item() > 0.02
    assert torch.allclose(layer.scale_base, torch.full((4, 3), 0.5))
    assert torch.equal(layer.scale_spline, torch.ones(4, 3))
    assert torch.equal(layer.symbolic_params[..., 0], torch.ones(4, 3))
    assert torch.equal(layer.symbolic_params[..., 2], torch.zeros(4, 3))


def test_same_generator_state_same_start_in_both_dtypes():
    single = KANLayer(2, 2, generator=torch.Generator().manual_seed(3))
    double = KANLayer(2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))

    assert torch.equal(single.coef, double.coef.float())


def test_frozen_scales_do_not_require_grad():
    layer = KANLayer(2, 2, trainable_scales=False)
    no_base = KANLayer(2, 2, base_activation=None)

    assert not layer.scale_base.requires_grad
    assert not layer.scale_spline.requires_grad
    assert not no_base.scale_base.requires_grad
    assert no_base.scale_spline.requires_grad


def test_edge_curves_span_grid_with_margin():
    layer = _randomised_layer(_nonuniform_grid())

    x, parts = layer.edge_curves(num_points=50, margin=0.1)

    width = layer.grid[:, -1] - layer.grid[:, 0]
    assert x.shape == (50, 3)
    assert torch.allclose(x[0], layer.grid[:, 0] - 0.1 * width)
    assert torch.allclose(x[-1], layer.grid[:, -1] + 0.1 * width)
    assert (parts["total"] - layer.edge_outputs(x)).abs().max().item() <= TOLERANCE


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"in_features": 0}, ValueError, "in_features must be at least 1, got 0"),
        ({"grid_size": 2.5}, TypeError, "grid_size must be an int, got float"),
        ({"degree": 6}, ValueError, "degree must be at most 5; received 6"),
        ({"base_activation": "relu"}, ValueError, "base_activation must be one of"),
        ({"noise_scale": -1.0}, ValueError, "noise_scale must be >= 0, got -1.0"),
        ({"grid_range": (1.0, -1.0)}, ValueError, "lower < upper"),
        ({"dtype": torch.float16}, TypeError, "dtype must be torch.float32 or torch.float64"),
    ],
)
def test_constructor_rejects_invalid_arguments(kwargs, error, message):
    arguments = {"in_features": 2, "out_features": 2} | kwargs
    with pytest.raises(error, match=message):
        KANLayer(**arguments)


def test_forward_rejects_wrong_width():
    with pytest.raises(ValueError, match="x must have 2 features, got 3"):
        KANLayer(2, 1)(torch.zeros(4, 3))


def test_scale_base_is_inverse_sqrt_of_inputs():
    layer = KANLayer(9, 1)
    assert layer.scale_base[0, 0].item() == pytest.approx(1 / math.sqrt(9))
