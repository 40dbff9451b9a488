"""Parameter search behind :mod:`kan_core.symbolic`: grids and Levenberg-Marquardt.

Everything here works on normalised inputs ``t`` in ``[-1, 1]`` and the model
``y ~ a * f(b * t + c) + d`` in float64. :mod:`kan_core.symbolic` converts the
results back to the units of the samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor

__all__ = ["SearchSpace", "search_space", "grid_search", "polish"]

# Elements per block of the grid search: 512 KB per float64 tensor.
_BLOCK_ELEMENTS = 1 << 16
_ZOOM_POINTS = 11
_MAX_ITERATIONS = 40

# Functions whose shape does not change with |b|: b only rescales a (powers,
# reciprocals, abs, sgn) or shifts d (log), so b is fixed to +-1 in x units.
_SCALE_FREE_ANYWHERE = ("x^2", "x^3", "x^4", "abs", "sgn")
_SCALE_FREE_POLE = ("1/x", "1/x^2")
_SCALE_FREE_ONE_SIDED = ("sqrt", "log")


@dataclass(frozen=True)
class SearchSpace:
    """Product grid over two coordinates ``(p, q)`` and the map to ``(b, c)``.

    Attributes
    ----------
    first, second : Tensor, shape (n_first,), (n_second,)
        Sorted grid values of ``p`` and ``q``.
    continuous : tuple of bool
        Whether the finer grid may refine ``p`` and ``q`` between grid values.
    to_bc : Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
        Map from ``(p, q)`` to the normalised ``(b, c)``.
    free : tuple of bool
        Which of ``(a, b, c, d)`` Levenberg-Marquardt may change.
    """

    first: Tensor
    second: Tensor
    continuous: tuple[bool, bool]
    to_bc: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
    free: tuple[bool, bool, bool, bool]


def _geometric(low: float, high: float, count: int) -> Tensor:
    return torch.logspace(math.log10(low), math.log10(high), count, dtype=torch.float64)


def _linear(low: float, high: float, count: int) -> Tensor:
    return torch.linspace(low, high, count, dtype=torch.float64)


def _identity(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    return p, q


def _centre_to_bc(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    # q is where b t + c crosses zero: the centre of tanh, arctan, gaussian.
    return p, -p * q


def search_space(name: str, half_width: float) -> SearchSpace:
    """Build the grid for one library function.

    Parameters
    ----------
    name : str
        Library key other than ``"0"`` and ``"x"``, which have closed forms.
    half_width : float
        ``s`` in ``t = (x - x0) / s``. Scale-free functions use ``b = s`` in
        ``t`` units, which is ``b = 1`` in the units of ``x``.

    Returns
    -------
    SearchSpace
    """
    all_free = (True, True, True, True)
    shift_only = (True, False, True, True)
    offsets = _geometric(1e-3, 1e3, 40)

    if name in _SCALE_FREE_ANYWHERE + _SCALE_FREE_POLE + _SCALE_FREE_ONE_SIDED:
        # u = sign * s * (t - q): q is the kink, vertex, jump or pole.
        if name in _SCALE_FREE_ANYWHERE:
            signs = torch.tensor([1.0], dtype=torch.float64)
            centres = torch.cat([-1.0 - offsets.flip(0), _linear(-1.0, 1.0, 81)[1:-1], 1.0 + offsets])
        elif name in _SCALE_FREE_POLE:
            # A pole between two samples is allowed: the domain check only
            # rejects samples that come within POLE_EPS of it.
            signs = torch.tensor([1.0], dtype=torch.float64)
            centres = torch.cat([-1.0 - offsets.flip(0), _linear(-1.0, 1.0, 81)[1:-1], 1.0 + offsets])
        else:
            # sqrt and log need u >= 0, so the sign of b picks the side.
            signs = torch.tensor([-1.0, 1.0], dtype=torch.float64)
            centres = torch.cat([-1.0 - offsets.flip(0), 1.0 + offsets])

        def to_bc(sign: Tensor, centre: Tensor) -> tuple[Tensor, Tensor]:
            return sign * half_width, -sign * half_width * centre

        return SearchSpace(signs, centres, (False, True), to_bc, shift_only)

    if name == "exp":
        # a exp(b t + c) = (a e^c) exp(b t), so c stays 0.
        rates = torch.cat([-_geometric(0.01, 20.0, 40).flip(0), _geometric(0.01, 20.0, 40)])
        zero = torch.zeros(1, dtype=torch.float64)
        return SearchSpace(rates, zero, (True, False), _identity, (True, True, False, True))

    if name == "sin":
        # Frequency steps of at most 0.5 keep the phase error at t = +-1 small
        # enough for the finer grid and the polish to find the right peak.
        rates = torch.cat([_geometric(0.05, 2.0, 16), _linear(2.5, 50.0, 96)])
        phases = _linear(-math.pi, math.pi, 33)[:-1]
        return SearchSpace(rates, phases, (True, True), _identity, all_free)

    if name == "tan":
        # NOTE: the grid only covers one branch of tan, so samples spanning a
        # pole are fitted only if Levenberg-Marquardt walks there.
        rates = _geometric(0.01, math.pi / 2, 33)
        return SearchSpace(rates, _linear(-math.pi / 2, math.pi / 2, 33), (True, True), _identity, all_free)

    if name == "arcsin":
        rates = _geometric(0.01, 1.0, 33)
        return SearchSpace(rates, _linear(-1.0, 1.0, 33), (True, True), _identity, all_free)

    # tanh, arctan, gaussian and any function added to the library later.
    rates = _geometric(0.05, 50.0, 41)
    return SearchSpace(rates, _linear(-2.0, 2.0, 41), (True, True), _centre_to_bc, all_free)


def _best_on_grid(fn, domain, b: Tensor, c: Tensor, t: Tensor, y: Tensor) -> tuple[float, int, float, float]:
    """Return (R^2, index, a, d) of the best of the flat grid points ``(b, c)``."""
    y_centred = y - y.mean()
    y_var = float((y_centred * y_centred).mean())
    block = max(1, _BLOCK_ELEMENTS // t.numel())
    best = (-math.inf, -1, 0.0, 0.0)

    for start in range(0, b.numel(), block):
        u = b[start : start + block, None] * t[None, :] + c[start : start + block, None]
        valid = domain(u).all(dim=1)
        g = fn(u)
        g_mean = g.mean(dim=1, keepdim=True)
        g_centred = g - g_mean
        g_var = (g_centred * g_centred).mean(dim=1)
        cov = (g_centred * y_centred[None, :]).mean(dim=1)

        # A constant g has no slope to fit; its var is only rounding noise.
        varies = g_var > 1e-20 * (g_mean[:, 0] ** 2 + g_var)
        usable = valid & varies & torch.isfinite(g_var) & torch.isfinite(cov)
        r2 = torch.where(usable, cov * cov / (g_var * y_var), torch.full_like(cov, -math.inf))

        index = int(torch.argmax(r2))
        if float(r2[index]) > best[0]:
            a = float(cov[index] / g_var[index])
            d = float(y.mean()) - a * float(g_mean[index, 0])
            best = (float(r2[index]), start + index, a, d)
    return best


def _zoom_axis(values: Tensor, index: int, continuous: bool) -> Tensor:
    if not continuous or values.numel() == 1:
        return values[index : index + 1]
    low = values[max(index - 1, 0)]
    high = values[min(index + 1, values.numel() - 1)]
    return torch.linspace(float(low), float(high), _ZOOM_POINTS, dtype=torch.float64)


def grid_search(
    fn: Callable[[Tensor], Tensor],
    domain: Callable[[Tensor], Tensor],
    space: SearchSpace,
    t: Tensor,
    y: Tensor,
) -> Optional[tuple[float, float, float, float]]:
    """Find the best ``(a, b, c, d)`` on the grid, then on a finer grid around it.

    Parameters
    ----------
    fn, domain : Callable
        ``torch_fn`` and ``domain`` of the library function.
    space : SearchSpace
        Grid from :func:`search_space`.
    t, y : Tensor, shape (batch,)
        Normalised inputs and outputs, float64.

    Returns
    -------
    tuple of float or None
        ``(a, b, c, d)`` with normalised ``b`` and ``c``, or None when no grid
        point keeps every ``b t + c`` inside ``domain``.
    """
    for level in range(2):
        if level == 0:
            first, second = space.first, space.second
        else:
            first = _zoom_axis(space.first, best_index // space.second.numel(), space.continuous[0])
            second = _zoom_axis(space.second, best_index % space.second.numel(), space.continuous[1])
        p, q = torch.meshgrid(first, second, indexing="ij")
        b, c = space.to_bc(p.reshape(-1), q.reshape(-1))
        r2, index, a, d = _best_on_grid(fn, domain, b, c, t, y)

        if level == 0:
            if index < 0:
                return None
            best_index = index
            result = (a, float(b[index]), float(c[index]), d)
            best_r2 = r2
        elif r2 > best_r2:
            result = (a, float(b[index]), float(c[index]), d)
    return result


def _solve_small(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Solve a small dense system by Gaussian elimination with partial pivoting."""
    size = len(rhs)
    rows = [matrix[k][:] + [rhs[k]] for k in range(size)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda k: abs(rows[k][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        if rows[column][column] == 0.0:
            return [0.0] * size
        for k in range(column + 1, size):
            factor = rows[k][column] / rows[column][column]
            for m in range(column, size + 1):
                rows[k][m] -= factor * rows[column][m]
    solution = [0.0] * size
    for column in reversed(range(size)):
        total = rows[column][size] - sum(rows[column][m] * solution[m] for m in range(column + 1, size))
        solution[column] = total / rows[column][column]
    return solution


def polish(
    fn: Callable[[Tensor], Tensor],
    domain: Callable[[Tensor], Tensor],
    free: tuple[bool, bool, bool, bool],
    start: tuple[float, float, float, float],
    t: Tensor,
    y: Tensor,
) -> tuple[float, float, float, float]:
    """Refine ``(a, b, c, d)`` by Levenberg-Marquardt on the squared error.

    Steps that leave ``domain`` or do not lower the error are rejected, so the
    result is never worse than ``start``. Parameters with ``free`` False stay.

    Parameters
    ----------
    fn, domain : Callable
        ``torch_fn`` and ``domain`` of the library function.
    free : tuple of bool
        Which of ``(a, b, c, d)`` may change.
    start : tuple of float
        Starting ``(a, b, c, d)``, normalised ``b`` and ``c``.
    t, y : Tensor, shape (batch,)
        Normalised inputs and outputs, float64.

    Returns
    -------
    tuple of float
        Refined ``(a, b, c, d)``.

    Notes
    -----
    Marquardt's scaling: the step solves ``(J^T J + lam diag(J^T J)) dp = -J^T r``;
    lam shrinks by 3 after an accepted step and grows by 4 after a rejected one.
    """
    params = torch.tensor(start, dtype=torch.float64)
    mask = torch.tensor(free)

    def error(values: Tensor) -> float:
        u = values[1] * t + values[2]
        if not bool(domain(u).all()):
            return math.inf
        residual = values[0] * fn(u) + values[3] - y
        return float((residual * residual).sum())

    current = error(params)
    damping = 1e-3
    for _ in range(_MAX_ITERATIONS):
        u = (params[1] * t + params[2]).requires_grad_(True)
        g = fn(u)
        if g.requires_grad:
            (slope,) = torch.autograd.grad(g.sum(), u)
        else:
            slope = torch.zeros_like(u)
        g = g.detach()
        residual = params[0] * g + params[3] - y

        # Columns: d/da, d/db, d/dc, d/dd of the model a f(b t + c) + d.
        jacobian = torch.stack([g, params[0] * slope * t, params[0] * slope, torch.ones_like(t)], dim=1)
        jacobian = jacobian[:, mask]
        # Elementwise products instead of a matmul: BLAS may start threads
        # even for a 4-column product, which costs far more than the product.
        normal = (jacobian[:, :, None] * jacobian[:, None, :]).sum(dim=0).tolist()
        gradient = (jacobian * residual[:, None]).sum(dim=0).tolist()
        largest = max(normal[k][k] for k in range(len(normal)))
        diagonal = [max(normal[k][k], 1e-12 * largest + 1e-300) for k in range(len(normal))]

        improved = False
        while damping < 1e12:
            system = [row[:] for row in normal]
            for k in range(len(system)):
                system[k][k] += damping * diagonal[k]
            step = _solve_small(system, [-value for value in gradient])
            trial = params.clone()
            trial[mask] += torch.tensor(step, dtype=torch.float64)
            trial_error = error(trial)
            if trial_error < current:
                improved = True
                break
            damping *= 4.0

        if not improved:
            break
        gain = current - trial_error
        params, current = trial, trial_error
        damping = max(damping / 3.0, 1e-12)
        if gain <= 1e-13 * current or current == 0.0:
            break
    return tuple(float(value) for value in params)
