"""Views of one B-spline for teaching: basis tables, curves, least-squares fits, error sweeps.

Each function here is one request of the B-splines page, computed with `kan_core.bspline`,
and returns NumPy arrays ready for plotting. The vocabulary is that of `kan_core.bspline`:
knots ``t``, degree ``k``, grid size ``G`` and coefficients ``c``. A *grid* is the list of
G + 1 points that bound the intervals, and the *knot vector* is the grid, optionally
extended by k knots on each side (`extend_grid`), that defines the bases.

Results are computed in float64 on the CPU.
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
    fit_coefficients,
    greville_abscissae,
    spline_derivative,
    uniform_grid,
    validate_knots,
)
from kan_core.local_basis import local_basis
from kan_core.targets import Target, make_dataset

__all__ = [
    "BasisTable",
    "ErrorSweep",
    "SplineCurve",
    "TargetFit",
    "basis_table",
    "fit_error_sweep",
    "fit_target",
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


@dataclass(frozen=True)
class TargetFit:
    """A least-squares spline fit to noisy samples of a target.

    Attributes
    ----------
    train_x, train_y : ndarray, shape (n_train,)
        Samples the coefficients were fitted to.
    test_x, test_y : ndarray, shape (n_test,)
        Held-out samples.
    x, target_y, fit_y : ndarray, shape (points,)
        The noise-free target and the fitted spline on a fine grid over the sampling range.
    coefficients : ndarray, shape (n_basis,)
    rmse_target : float
        Root-mean-square distance between fit and noise-free target on the fine grid.
    rmse_test : float
        Root-mean-square error on the held-out noisy samples.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    x: np.ndarray
    target_y: np.ndarray
    fit_y: np.ndarray
    coefficients: np.ndarray
    rmse_target: float
    rmse_test: float


@dataclass(frozen=True)
class ErrorSweep:
    """Fit error against grid size for several degrees.

    Attributes
    ----------
    grid_sizes : ndarray of int, shape (sizes,)
    degrees : ndarray of int, shape (degrees,)
    rmse : ndarray, shape (degrees, sizes)
        Distance to the noise-free target, as in `TargetFit.rmse_target`.
    reference : ndarray, shape (degrees, sizes)
        Lines proportional to G^-(k+1) through each degree's error at the middle grid size,
        the rate that theory gives for a smooth target.
    """

    grid_sizes: np.ndarray
    degrees: np.ndarray
    rmse: np.ndarray
    reference: np.ndarray


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
            f"a degree-{degree} spline needs at least {degree + 2} knots, got {knots.shape[1]}; "
            "add knots, lower the degree or turn grid extension on"
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


def _evaluate_local(x: torch.Tensor, knots: torch.Tensor, c: torch.Tensor, degree: int) -> torch.Tensor:
    # Same values as evaluate_spline for one feature, from the k + 1 non-zero bases only,
    # which is many times faster for large grids. Shapes: x (batch, 1), c (1, n) -> (batch, 1).
    values, start = local_basis(x, knots, degree)
    offsets = torch.arange(degree + 1)
    index = start[:, :1] + offsets
    inside = (index >= 0) & (index < c.shape[1])
    picked = c[0][index.clamp(0, c.shape[1] - 1)] * inside
    return (values[:, 0, :] * picked).sum(dim=1, keepdim=True)


def _rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.sqrt(torch.mean((a - b) ** 2)).item()


def fit_target(
    target: Target,
    knots: Sequence[float],
    degree: int,
    *,
    sample_range: tuple[float, float],
    n_samples: int = 200,
    noise: float = 0.0,
    seed: int = 0,
    points: int = 801,
) -> TargetFit:
    """Fit a spline to noisy samples of a one-input target by linear least squares.

    Parameters
    ----------
    target : Target
        A preset with one input, such as ``TARGETS["sin_pi_x"]``.
    knots : sequence of float, length m
    degree : int
    sample_range : pair of float
        Interval the samples and the fine grid cover, usually the grid range.
    n_samples : int
        Train and test samples together; one fifth is held out.
    noise : float
        Standard deviation of the Gaussian noise on the labels.
    seed : int
    points : int

    Returns
    -------
    TargetFit

    Raises
    ------
    ValueError
        If the target takes more than one input, or from `make_dataset` for invalid sizes.
    """
    if target.n_inputs != 1:
        raise ValueError(f"target must take one input, got {target.key!r} with {target.n_inputs}")
    t = validate_knots(torch.as_tensor(np.asarray(knots), dtype=DTYPE))
    data = make_dataset(
        target, n_samples, noise=noise, seed=seed, dtype=DTYPE, ranges=[sample_range]
    )

    c = fit_coefficients(data.train_input, data.train_label, t, degree)
    x = torch.linspace(sample_range[0], sample_range[1], points, dtype=DTYPE)[:, None]
    target_y = target(x)
    fit_y = evaluate_spline(x, t, c, degree)
    test_fit = evaluate_spline(data.test_input, t, c, degree)
    return TargetFit(
        train_x=data.train_input[:, 0].numpy(),
        train_y=data.train_label[:, 0].numpy(),
        test_x=data.test_input[:, 0].numpy(),
        test_y=data.test_label[:, 0].numpy(),
        x=x[:, 0].numpy(),
        target_y=target_y[:, 0].numpy(),
        fit_y=fit_y[:, 0].numpy(),
        coefficients=c[0].numpy(),
        rmse_target=_rmse(fit_y, target_y),
        rmse_test=_rmse(test_fit, data.test_label),
    )


def fit_error_sweep(
    target: Target,
    *,
    grid_range: tuple[float, float],
    grid_sizes: Sequence[int] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64),
    degrees: Sequence[int] = (0, 1, 2, 3),
    n_samples: int = 200,
    noise: float = 0.0,
    seed: int = 0,
    points: int = 2001,
) -> ErrorSweep:
    """Fit one data set on extended uniform grids of each size and degree, and measure errors.

    Every fit uses the same train samples (`make_dataset` with `n_samples`, `noise` and
    `seed` over `grid_range`), so the curves differ only in G and k.

    Returns
    -------
    ErrorSweep

    Notes
    -----
    For a target with k + 1 continuous derivatives, the best degree-k spline on a uniform
    grid of spacing h = (b - a) / G is within C h^(k+1) of it, so the error falls like
    G^-(k+1). A least-squares fit follows that rate while samples are plentiful and the noise
    is small, which ``tests/core/test_approximation.py`` checks for sin(pi x). A kink (|x|)
    or a jump (step) lowers the rate for every degree.
    """
    if target.n_inputs != 1:
        raise ValueError(f"target must take one input, got {target.key!r} with {target.n_inputs}")
    data = make_dataset(
        target, n_samples, noise=noise, seed=seed, dtype=DTYPE, ranges=[grid_range]
    )
    x = torch.linspace(grid_range[0], grid_range[1], points, dtype=DTYPE)[:, None]
    target_y = target(x)

    sizes = np.asarray(grid_sizes, dtype=int)
    rmse = np.empty((len(degrees), len(sizes)))
    for row, degree in enumerate(degrees):
        for column, grid_size in enumerate(sizes):
            grid = uniform_grid(int(grid_size), grid_range, dtype=DTYPE)
            knots = extend_grid(grid, degree)
            c = fit_coefficients(data.train_input, data.train_label, knots, degree)
            rmse[row, column] = _rmse(_evaluate_local(x, knots, c, degree), target_y)

    # Anchor each reference line at the middle grid size: the smallest grids are not yet in
    # the asymptotic regime, and the largest may already sit on the noise floor.
    anchor = len(sizes) // 2
    exponents = -(np.asarray(degrees, dtype=float) + 1)
    ratio = sizes[None, :] / sizes[anchor]
    reference = rmse[:, anchor : anchor + 1] * ratio ** exponents[:, None]
    return ErrorSweep(
        grid_sizes=sizes,
        degrees=np.asarray(degrees, dtype=int),
        rmse=rmse,
        reference=reference,
    )
