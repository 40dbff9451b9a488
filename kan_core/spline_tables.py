"""Sampled tables of one B-spline for plotting: its bases, a curve, and the knots behind them.

The vocabulary is that of `kan_core.bspline`: knots ``t``, degree ``k``, grid size ``G`` and
coefficients ``c``. A *grid* is the list of G + 1 points that bound the intervals, and the
*knot vector* is the grid, optionally extended by k knots on each side (`extend_grid`),
that defines the bases. Results are NumPy arrays in float64, computed on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kan_core.bspline import (
    bspline_basis,
    evaluate_spline,
    extend_grid,
    greville_abscissae,
    spline_derivative,
    uniform_grid,
    validate_knots,
)

__all__ = [
    "BasisTable",
    "SplineCurve",
    "basis_table",
    "knot_multiplicities",
    "knot_vector",
    "random_coefficients",
    "spline_curve",
]

DTYPE = torch.float64

# Share of the knot span added on each side of a plot, so the reader sees the bases vanish.
_PLOT_MARGIN = 0.04


@dataclass(frozen=True)
class BasisTable:
    """Every basis function of one knot vector, sampled on a fine grid of x.

    Attributes
    ----------
    x : ndarray, shape (points,)
    basis : ndarray, shape (points, n_basis)
        N_{i,k}(x) for i = 0 .. n_basis - 1.
    total : ndarray, shape (points,)
        Sum of all bases; 1 wherever k + 1 bases overlap (partition of unity).
    count_x : ndarray, shape (count_points,)
        Evenly spaced x, without the knots themselves.
    nonzero_count : ndarray of int, shape (count_points,)
        Number of bases that are non-zero at each of `count_x`. At a simple knot one basis
        ends, so there the count is one lower; leaving knots out keeps the chart a clean step.
    knots : ndarray, shape (m,)
    domain : tuple of float
        [t_k, t_{m-k-1}], the interval where k + 1 bases overlap if no knot repeats inside.
    """

    x: np.ndarray
    basis: np.ndarray
    total: np.ndarray
    count_x: np.ndarray
    nonzero_count: np.ndarray
    knots: np.ndarray
    domain: tuple[float, float]


@dataclass(frozen=True)
class SplineCurve:
    """A spline sum_i c_i N_{i,k}(x) with its derivative and control points.

    Attributes
    ----------
    x, y, derivative : ndarray, shape (points,)
    greville : ndarray, shape (n_basis,)
        Greville abscissa of each coefficient, where its control point (xi_i, c_i) is drawn.
    coefficients : ndarray, shape (n_basis,)
    supports : ndarray, shape (n_basis, 2)
        Support [t_i, t_{i+k+1}] of each basis: changing c_i changes the curve only there.
    """

    x: np.ndarray
    y: np.ndarray
    derivative: np.ndarray
    greville: np.ndarray
    coefficients: np.ndarray
    supports: np.ndarray


def knot_vector(
    degree: int,
    *,
    grid_size: int = 5,
    grid_range: Sequence[float] = (-1.0, 1.0),
    grid: Sequence[float] | None = None,
    extend: bool = True,
) -> np.ndarray:
    """Build the knot vector of one spline from a uniform or a given grid.

    Parameters
    ----------
    degree : int
        Spline degree k.
    grid_size, grid_range : int, pair of float
        Uniform grid of `grid_size` intervals over `grid_range`, used when `grid` is None.
    grid : sequence of float, optional
        Grid points typed by the user, non-decreasing, with the last above the first.
    extend : bool
        Add k knots beyond each end with the spacing of the end intervals, so that k + 1
        bases overlap everywhere on the grid.

    Returns
    -------
    ndarray, shape (m,)
        m = G + 1 + 2k with extension, G + 1 without.

    Raises
    ------
    ValueError
        If the grid is invalid, spans no interval, or has fewer than k + 2 knots without
        extension.
    """
    if grid is None:
        points = uniform_grid(grid_size, grid_range, dtype=DTYPE)
    else:
        points = validate_knots(torch.as_tensor(list(grid), dtype=DTYPE))
    if points[0, -1] <= points[0, 0]:
        raise ValueError(
            f"the last knot must be greater than the first, got {points[0, 0].item():g} "
            f"and {points[0, -1].item():g}"
        )

    knots = extend_grid(points, degree) if extend else points
    if knots.shape[1] < degree + 2:
        raise ValueError(
            f"a degree-{degree} spline needs at least {degree + 2} knots, got {knots.shape[1]}. "
            "Add knots, lower the degree or turn grid extension on"
        )
    return knots[0].numpy()


def knot_multiplicities(knots: Sequence[float]) -> list[int]:
    """Return, for each knot, how many knots share its value."""
    values = list(knots)
    return [values.count(value) for value in values]


def random_coefficients(count: int, seed: int, *, scale: float = 1.0) -> np.ndarray:
    """Draw `count` coefficients uniformly from [-scale, scale], rounded to 0.01.

    The same seed gives the same draw, so a shared link reproduces it.
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    generator = torch.Generator().manual_seed(seed)
    draw = (2 * torch.rand(count, generator=generator, dtype=DTYPE) - 1) * scale
    return np.round(draw.numpy(), 2)


def _even_x(knots: torch.Tensor, points: int) -> torch.Tensor:
    first, last = knots[0, 0].item(), knots[0, -1].item()
    margin = _PLOT_MARGIN * (last - first)
    return torch.linspace(first - margin, last + margin, points, dtype=DTYPE)


def _plot_x(knots: torch.Tensor, points: int) -> torch.Tensor:
    # Every knot is added to the even grid, so kinks and jumps are drawn where they are.
    return torch.unique(torch.cat([_even_x(knots, points), knots[0]]))


def basis_table(knots: Sequence[float], degree: int, *, points: int = 801) -> BasisTable:
    """Sample every basis N_{i,k} of a knot vector, their sum, and how many are non-zero.

    Parameters
    ----------
    knots : sequence of float, length m
        Full knot vector, as `knot_vector` returns it.
    degree : int
    points : int
        Number of evenly spaced x; the knots themselves are added.

    Returns
    -------
    BasisTable
    """
    t = validate_knots(torch.as_tensor(np.asarray(knots), dtype=DTYPE))
    x = _plot_x(t, points)

    basis = bspline_basis(x[:, None], t, degree)[:, 0, :]
    n_basis = basis.shape[1]
    domain = (t[0, degree].item(), t[0, n_basis].item())

    count_x = _even_x(t, points)
    # Drop the even points that fall exactly on a knot (uniform grids often hit them).
    count_x = count_x[~torch.isin(count_x, t[0])]
    count_basis = bspline_basis(count_x[:, None], t, degree)[:, 0, :]
    return BasisTable(
        x=x.numpy(),
        basis=basis.numpy(),
        total=basis.sum(dim=1).numpy(),
        count_x=count_x.numpy(),
        nonzero_count=(count_basis > 0).sum(dim=1).numpy(),
        knots=t[0].numpy(),
        domain=domain,
    )


def spline_curve(
    knots: Sequence[float], degree: int, coefficients: Sequence[float], *, points: int = 801
) -> SplineCurve:
    """Evaluate a spline, its derivative and its control points.

    Parameters
    ----------
    knots : sequence of float, length m
    degree : int
    coefficients : sequence of float, length m - k - 1
    points : int

    Returns
    -------
    SplineCurve
    """
    t = validate_knots(torch.as_tensor(np.asarray(knots), dtype=DTYPE))
    n_basis = t.shape[1] - degree - 1
    c = torch.as_tensor(np.asarray(coefficients), dtype=DTYPE)
    if c.shape != (n_basis,):
        raise ValueError(f"coefficients must have {n_basis} entries, got {tuple(c.shape)}")
    x = _plot_x(t, points)

    y = evaluate_spline(x[:, None], t, c[None, :], degree)[:, 0]
    derivative = spline_derivative(x[:, None], t, c[None, :], degree)[:, 0]
    supports = torch.stack([t[0, :n_basis], t[0, degree + 1 :]], dim=1)
    return SplineCurve(
        x=x.numpy(),
        y=y.numpy(),
        derivative=derivative.numpy(),
        greville=greville_abscissae(t, degree)[0].numpy(),
        coefficients=c.numpy(),
        supports=supports.numpy(),
    )
