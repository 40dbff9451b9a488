"""Least-squares spline fits of target functions, and how their error falls with grid size.

Each function here is one request of the B-splines page's fit tab, computed with
`kan_core.bspline`, and returns NumPy arrays ready for plotting. The vocabulary is that of
`kan_core.bspline`: knots ``t``, degree ``k``, grid size ``G`` and coefficients ``c``.
Results are computed in float64 on the CPU. Tables of bases and curves for plotting live in
`kan_core.spline_tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kan_core.bspline import (
    evaluate_spline,
    extend_grid,
    fit_coefficients,
    uniform_grid,
    validate_knots,
)
from kan_core.local_basis import local_basis
from kan_core.targets import Target, make_dataset

__all__ = [
    "ErrorSweep",
    "TargetFit",
    "fit_error_sweep",
    "fit_target",
]

DTYPE = torch.float64


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
