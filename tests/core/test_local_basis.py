"""The fast B-spline evaluators against the Cox-de Boor reference `bspline_basis`."""

import pytest
import torch

from kan_core.bspline import bspline_basis, extend_grid, uniform_grid
from kan_core.fused import kan_layer_sum
from kan_core.local_basis import local_basis, locate, power_table

DEGREES = list(range(6))
TOLERANCE = 1e-12


def _grids() -> dict[str, torch.Tensor]:
    # Three rows per grid so that features with different knots share one call.
    uniform = uniform_grid(6, (-1.0, 1.0), features=3)
    nonuniform = torch.tensor(
        [
            [-1.0, -0.9, -0.5, -0.45, 0.1, 0.7, 1.0],
            [-2.0, -1.0, 0.0, 0.5, 0.75, 0.875, 3.0],
            [0.0, 0.01, 0.02, 0.5, 0.51, 0.99, 1.0],
        ],
        dtype=torch.float64,
    )
    repeated = torch.tensor(
        [
            [-1.0, -0.5, -0.5, 0.0, 0.5, 0.5, 1.0],
            [-1.0, -1.0, -0.2, 0.3, 0.3, 0.3, 1.0],
            [0.0, 0.2, 0.4, 0.6, 0.6, 0.8, 1.0],
        ],
        dtype=torch.float64,
    )
    return {"uniform": uniform, "nonuniform": nonuniform, "repeated": repeated}


def _clamped(grid: torch.Tensor, degree: int) -> torch.Tensor:
    # End knots of multiplicity k + 1, the textbook open knot vector.
    left = grid[:, :1].expand(-1, degree)
    right = grid[:, -1:].expand(-1, degree)
    return torch.cat([left, grid, right], dim=1)


def _test_points(knots: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    lower, upper = knots[:, 0], knots[:, -1]
    width = upper - lower
    inside = lower + torch.rand(200, knots.shape[0], generator=generator, dtype=torch.float64) * width
    outside = torch.stack([lower - 0.3 * width, upper + 0.3 * width, lower - 1e-9, upper + 1e-9])
    return torch.cat([inside, knots.T, grid.T, outside])


def _scatter(values: torch.Tensor, start: torch.Tensor, n_basis: int) -> torch.Tensor:
    # Place the k + 1 window values at their basis indices; out-of-range entries are dropped.
    batch, features, terms = values.shape
    index = start.unsqueeze(-1) + torch.arange(terms)
    full = torch.zeros(batch, features, n_basis + 2 * terms, dtype=values.dtype)
    full.scatter_(2, index + terms, values)
    return full[:, :, terms : terms + n_basis]


def _knot_vectors(degree: int):
    for name, grid in _grids().items():
        yield f"{name}-extended", grid, extend_grid(grid, degree)
        yield f"{name}-clamped", grid, _clamped(grid, degree)


@pytest.mark.parametrize("degree", DEGREES)
def test_local_basis_matches_reference(degree):
    for name, grid, knots in _knot_vectors(degree):
        x = _test_points(knots, grid)
        reference = bspline_basis(x, knots, degree)

        values, start = local_basis(x, knots, degree)
        fast = _scatter(values, start, reference.shape[-1])

        error = (fast - reference).abs().max().item()
        assert error <= TOLERANCE, f"{name}: max error {error:.3g}"


@pytest.mark.parametrize("degree", DEGREES)
def test_local_basis_start_range(degree):
    for name, grid, knots in _knot_vectors(degree):
        x = _test_points(knots, grid)
        n_basis = knots.shape[1] - degree - 1

        values, start = local_basis(x, knots, degree)

        assert start.dtype == torch.int64, name
        assert int(start.min()) >= -degree, name
        assert int(start.max()) <= n_basis - 1, name
        assert values.shape == (x.shape[0], x.shape[1], degree + 1), name


@pytest.mark.parametrize("degree", DEGREES)
def test_local_basis_partition_of_unity(degree):
    grid = _grids()["nonuniform"]
    knots = extend_grid(grid, degree)
    generator = torch.Generator().manual_seed(2)
    x = grid[:, 0] + torch.rand(300, 3, generator=generator, dtype=torch.float64) * (
        grid[:, -1] - grid[:, 0]
    )
    x = torch.cat([x, grid.T])

    values, _ = local_basis(x, knots, degree)

    assert torch.allclose(values.sum(-1), torch.ones_like(x), rtol=0, atol=1e-13)


@pytest.mark.parametrize("degree", DEGREES)
def test_local_basis_zero_outside_knots(degree):
    grid = _grids()["uniform"]
    knots = extend_grid(grid, degree)
    x = torch.stack([knots[:, 0] - 0.5, knots[:, -1] + 0.5, knots[:, -1] + 1e6])

    values, _ = local_basis(x, knots, degree)

    assert torch.equal(values, torch.zeros_like(values))


@pytest.mark.parametrize("degree", DEGREES)
def test_power_table_matches_reference(degree):
    for name, grid, knots in _knot_vectors(degree):
        x = _test_points(knots, grid)
        reference = bspline_basis(x, knots, degree)
        table = power_table(knots, degree)

        rows, u = locate(x.T.contiguous(), table)
        u = u.clamp(0.0, table.max_width)
        polynomials = table.poly[torch.arange(3)[:, None], rows]  # (features, batch, s, p)
        powers = u.unsqueeze(-1) ** torch.arange(degree + 1, dtype=torch.float64)
        values = torch.einsum("fbsp,fbp->bfs", polynomials, powers)
        fast = _scatter(values, (rows - 1 - degree).T, reference.shape[-1])

        error = (fast - reference).abs().max().item()
        assert error <= TOLERANCE, f"{name}: max error {error:.3g}"


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_kan_layer_sum_matches_reference(degree):
    grid = _grids()["nonuniform"]
    knots = extend_grid(grid, degree)
    n_basis = knots.shape[1] - degree - 1
    generator = torch.Generator().manual_seed(3)
    coef = torch.randn(3, 2, n_basis, generator=generator, dtype=torch.float64)
    scale_spline = torch.rand(3, 2, generator=generator, dtype=torch.float64) + 0.5
    scale_base = torch.randn(3, 2, generator=generator, dtype=torch.float64)
    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    x = _test_points(knots, grid)

    fast = kan_layer_sum(x, power_table(knots, degree), coef, scale_spline, scale_base, mask)

    basis = bspline_basis(x, knots, degree)
    splines = torch.einsum("bin,ion->bio", basis, coef) * scale_spline
    bases = torch.nn.functional.silu(x).unsqueeze(-1) * scale_base
    reference = ((splines + bases) * mask).sum(1)
    assert (fast - reference).abs().max().item() <= TOLERANCE


def test_local_basis_gradcheck_in_x():
    grid = _grids()["nonuniform"]
    knots = extend_grid(grid, 3)
    generator = torch.Generator().manual_seed(4)
    x = grid[:, 0] + torch.rand(6, 3, generator=generator, dtype=torch.float64) * (
        grid[:, -1] - grid[:, 0]
    )
    x.requires_grad_(True)

    assert torch.autograd.gradcheck(lambda points: local_basis(points, knots, 3)[0], (x,))


def test_local_basis_float32_close_to_reference():
    grid = _grids()["nonuniform"]
    knots = extend_grid(grid, 3)
    x = _test_points(knots, grid)
    reference = bspline_basis(x, knots, 3)

    values, start = local_basis(x.float(), knots.float(), 3)

    fast = _scatter(values.double(), start, reference.shape[-1])
    assert (fast - reference).abs().max().item() <= 1e-5


def test_local_basis_rejects_feature_mismatch():
    knots = extend_grid(uniform_grid(5, features=2), 3)
    with pytest.raises(ValueError, match="x has 3 features but knots has 2 rows"):
        local_basis(torch.zeros(4, 3, dtype=torch.float64), knots, 3)


def test_local_basis_rejects_too_few_knots():
    knots = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="needs at least 5 knots, got 3"):
        local_basis(torch.zeros(4, 1, dtype=torch.float64), knots, 3)
