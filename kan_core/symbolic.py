"""Fit one KAN edge with ``a * f(b * x + c) + d`` and rank library candidates.

For each candidate ``f`` from :data:`kan_core.symbolic_library.LIBRARY` the
fit runs in three phases, all in float64 on the CPU:

1. Grid search over the nonlinear parameters ``(b, c)``, vectorised over grid
   points. At every point the linear parameters ``(a, d)`` have the closed
   form of a simple linear regression on ``g = f(b x + c)``:
   ``a = cov(g, y) / var(g)``, ``d = mean(y) - a mean(g)``, and
   ``R^2 = cov(g, y)^2 / (var(g) var(y))``. Points that put any sample
   outside the exact domain of ``f`` are skipped.
2. A finer grid around the best point.
3. Levenberg-Marquardt steps over ``(a, b, c, d)`` from that point.

The search runs in normalised coordinates ``t = (x - x0) / s`` that map the
samples onto ``[-1, 1]``, so its ranges do not depend on the units of ``x``.
``0`` and ``x`` have closed forms and no search. Scale-free functions (powers,
reciprocals, ``abs``, ``sgn``, ``sqrt``, ``log``) fix ``|b| = 1`` in the units
of ``x``. For them ``f(b x + c)`` is a constant times ``f(+-(x + c / b))``, or
that plus a constant for ``log``, so ``a`` or ``d`` absorbs ``|b|``. ``exp``
fixes its shift because ``exp(c)`` is a factor that ``a`` absorbs. ``cos``
reuses the ``sin`` fit shifted by ``pi / 2``, so both report the same R^2.

Ranking uses :func:`symbolic_score`: accuracy in bits minus
``simplicity_weight`` times the complexity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import sympy
import torch
from torch import Tensor

from kan_core.symbolic_library import LIBRARY
from kan_core.symbolic_search import SearchSpace, grid_search, polish, search_space

__all__ = [
    "SymbolicFit",
    "UndefinedCandidateError",
    "ACCURACY_CAP_BITS",
    "DEFAULT_SIMPLICITY_WEIGHT",
    "symbolic_score",
    "fit_symbolic",
    "rank_candidates",
]

ACCURACY_CAP_BITS = 30.0
"""Accuracy term cap: fits with ``1 - R^2 <= 2**-30`` (about 1e-9) count as exact."""

DEFAULT_SIMPLICITY_WEIGHT = 1.0
"""Bits of accuracy that one unit of complexity costs by default."""

_MAX_GRID_SAMPLES = 256


class UndefinedCandidateError(ValueError):
    """Raised when a candidate is undefined on the samples for every searched ``(b, c)``."""


@dataclass(frozen=True)
class SymbolicFit:
    """Fitted symbolic edge ``y ~ a * f(b * x + c) + d``.

    Attributes
    ----------
    name : str
        Key of ``f`` in :data:`~kan_core.symbolic_library.LIBRARY`.
    a, b, c, d : float
        Fitted parameters in the units of the samples.
    r2 : float
        Coefficient of determination on all samples, in ``[0, 1]`` for
        least-squares fits. Constant ``y`` gives 1 to every fit that matches it.
    complexity : int
        Complexity of ``f`` from the library.
    score : float
        :func:`symbolic_score` of ``r2`` and ``complexity``; higher is better.
    """

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    complexity: int
    score: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        """Parameters ``(a, b, c, d)`` in the order of ``KANLayer.symbolic_params``."""
        return (self.a, self.b, self.c, self.d)

    def evaluate(self, x: Tensor) -> Tensor:
        """Evaluate ``a * f(b * x + c) + d`` with the safe ``f``; any shape, dtype of ``x``."""
        fn = LIBRARY[self.name].torch_fn
        return self.a * fn(self.b * x + self.c) + self.d

    def sympy(self, variable: Union[str, sympy.Expr] = "x") -> sympy.Expr:
        """Return the exact ``a * f(b * variable + c) + d`` as a sympy expression.

        ``variable`` is a symbol name or any sympy expression; the parameters
        become ``sympy.Float`` numbers at full precision.
        """
        if isinstance(variable, str):
            variable = sympy.Symbol(variable)
        a, b, c, d = (sympy.Float(value) for value in self.params)
        return a * LIBRARY[self.name].sympy_fn(b * variable + c) + d


def symbolic_score(r2: float, complexity: int, simplicity_weight: float = DEFAULT_SIMPLICITY_WEIGHT) -> float:
    """Score a fit: accuracy in bits minus ``simplicity_weight * complexity``.

    Notes
    -----
    ``score = -log2(max(1 - r2, 2**-ACCURACY_CAP_BITS)) - w * complexity``.
    The accuracy term counts how many halvings of the unexplained variance the
    fit achieves; it is 0 for ``r2 = 0`` and saturates at 30 bits. With noisy
    samples every good candidate reaches the same plateau, so complexity
    decides. An exact fit of complexity ``k1`` beats a fit of complexity
    ``k2 < k1`` with accuracy ``A`` bits whenever ``w < (30 - A) / (k1 - k2)``,
    which is why weights above about 10 stop being sensible.
    """
    unexplained = max(1.0 - r2, 2.0**-ACCURACY_CAP_BITS)
    # Adding 0.0 turns the -0.0 of an exact zero score into 0.0.
    return -math.log2(unexplained) - simplicity_weight * complexity + 0.0


def _as_samples(values: Tensor, label: str) -> Tensor:
    if not isinstance(values, Tensor):
        raise TypeError(f"{label} must be a torch.Tensor, got {type(values).__name__}")
    if values.dim() == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.dim() != 1:
        raise ValueError(f"{label} must have shape (batch,) or (batch, 1), got {tuple(values.shape)}")
    values = values.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{label} must be finite, got {int((~torch.isfinite(values)).sum())} NaN or inf values")
    return values


def _check_weight(simplicity_weight: float) -> None:
    if not math.isfinite(simplicity_weight):
        raise ValueError(f"simplicity_weight must be finite, got {simplicity_weight}")
    if simplicity_weight < 0:
        raise ValueError(f"simplicity_weight must be >= 0, got {simplicity_weight}")


def _check_name(name: str) -> None:
    if name not in LIBRARY:
        raise ValueError(f"unknown symbolic function {name!r}; expected one of {list(LIBRARY)}")


def _r_squared(residual_ss: float, total_ss: float) -> float:
    return min(1.0, 1.0 - residual_ss / total_ss)


class _Samples:
    """Samples in float64 with the normalisation ``t = (x - x0) / s``."""

    def __init__(self, x: Tensor, y: Tensor):
        self.x = x
        self.y = y
        self.x0 = float(x.min() + x.max()) / 2
        self.s = float(x.max() - x.min()) / 2
        self.t = (x - self.x0) / self.s if self.s > 0 else torch.zeros_like(x)
        self.y_mean = float(y.mean())
        # Normalised (a, b, c, d) by searched name, shared by sin and cos.
        self.searched: dict[str, tuple[float, float, float, float]] = {}
        self.total_ss = float(((y - self.y_mean) ** 2).sum())

        # A constant y (up to rounding) is explained by every fit with a = 0.
        spread = float(y.max() - y.min())
        self.constant_y = spread <= 1e-12 * max(1.0, float(y.abs().max()))

        # The grid search needs the shape of the curve, not every sample:
        # strided samples in x order keep the whole range.
        if x.numel() > _MAX_GRID_SAMPLES:
            order = torch.argsort(x)
            pick = torch.linspace(0, x.numel() - 1, _MAX_GRID_SAMPLES).round().long()
            self.t_grid, self.y_grid = self.t[order[pick]], y[order[pick]]
        else:
            self.t_grid, self.y_grid = self.t, y


def _constant_fit(name: str, samples: _Samples, weight: float) -> SymbolicFit:
    # a = 0 makes f irrelevant: the fit is the mean of y.
    r2 = 1.0 if samples.constant_y else 0.0
    complexity = LIBRARY[name].complexity
    return SymbolicFit(name, 0.0, 1.0, 0.0, samples.y_mean, r2, complexity, symbolic_score(r2, complexity, weight))


def _linear_fit(samples: _Samples, weight: float) -> SymbolicFit:
    xc = samples.x - samples.x.mean()
    slope = float((xc * (samples.y - samples.y_mean)).sum() / (xc * xc).sum())
    intercept = samples.y_mean - slope * float(samples.x.mean())
    residual = samples.y - (slope * samples.x + intercept)
    r2 = max(0.0, _r_squared(float((residual**2).sum()), samples.total_ss))
    complexity = LIBRARY["x"].complexity
    return SymbolicFit("x", slope, 1.0, 0.0, intercept, r2, complexity, symbolic_score(r2, complexity, weight))


def _canonical(name: str, a: float, b: float, c: float) -> tuple[float, float, float]:
    """Choose one representative of equivalent parameters: ``b > 0`` for even
    and odd ``f``, and ``c`` in ``(-pi/2, pi/2]`` for ``sin``, ``cos``, ``tan``."""
    parity = LIBRARY[name].parity
    if b < 0 and parity is not None:
        b, c = -b, -c
        a = -a if parity == "odd" else a
    if name in ("sin", "cos", "tan"):
        # sin, cos change sign under a shift by pi; tan has period pi.
        turns = round(c / math.pi)
        c -= turns * math.pi
        if name != "tan" and turns % 2 != 0:
            a = -a
    return a, b, c


def _search(name: str, samples: _Samples) -> tuple[float, float, float, float]:
    if name in samples.searched:
        return samples.searched[name]
    space: SearchSpace = search_space(name, samples.s)
    fn = LIBRARY[name].torch_fn
    domain = LIBRARY[name].domain

    start = grid_search(fn, domain, space, samples.t_grid, samples.y_grid)
    if start is None:
        raise UndefinedCandidateError(
            f"candidate {name!r} is undefined on the inputs in [{float(samples.x.min()):.6g}, "
            f"{float(samples.x.max()):.6g}] for every searched (b, c); choose another candidate"
        )
    samples.searched[name] = polish(fn, domain, space.free, start, samples.t, samples.y)
    return samples.searched[name]


def _searched_fit(name: str, samples: _Samples, weight: float) -> SymbolicFit:
    # cos(u) = sin(u + pi/2): reuse the sin search so both report one R^2.
    a, b_norm, c_norm, d = _search("sin" if name == "cos" else name, samples)
    if name == "cos":
        c_norm -= math.pi / 2

    # Back to the units of x: b' t + c' = (b'/s) x + (c' - b' x0 / s).
    b = b_norm / samples.s
    c = c_norm - b_norm * samples.x0 / samples.s
    a, b, c = _canonical(name, a, b, c)

    residual = samples.y - (a * LIBRARY[name].torch_fn(b * samples.x + c) + d)
    r2 = max(0.0, _r_squared(float((residual**2).sum()), samples.total_ss))
    complexity = LIBRARY[name].complexity
    return SymbolicFit(name, a, b, c, d, r2, complexity, symbolic_score(r2, complexity, weight))


def _fit(name: str, samples: _Samples, weight: float) -> SymbolicFit:
    if name == "0" or samples.constant_y or samples.s == 0:
        return _constant_fit(name, samples, weight)
    if name == "x":
        return _linear_fit(samples, weight)
    return _searched_fit(name, samples, weight)


def fit_symbolic(
    x: Tensor,
    y: Tensor,
    name: str,
    simplicity_weight: float = DEFAULT_SIMPLICITY_WEIGHT,
) -> SymbolicFit:
    """Fit ``y ~ a * f(b * x + c) + d`` for one library function ``f``.

    Parameters
    ----------
    x, y : Tensor, shape (batch,) or (batch, 1)
        Edge inputs and outputs; any float dtype, converted to float64.
    name : str
        Key in :data:`~kan_core.symbolic_library.LIBRARY`.
    simplicity_weight : float
        Weight of the complexity in the returned ``score``.

    Returns
    -------
    SymbolicFit
        Best parameters found and their R^2 on all samples.

    Raises
    ------
    ValueError
        For an unknown name, mismatched or non-finite samples, fewer than two
        samples, or when ``f`` is undefined on the samples for every searched
        ``(b, c)``.
    """
    _check_name(name)
    _check_weight(simplicity_weight)
    return _fit(name, _prepare(x, y), simplicity_weight)


def _prepare(x: Tensor, y: Tensor) -> _Samples:
    x = _as_samples(x, "x")
    y = _as_samples(y, "y")
    if x.numel() != y.numel():
        raise ValueError(f"x and y must have the same number of samples, got {x.numel()} and {y.numel()}")
    if x.numel() < 2:
        raise ValueError(f"fitting needs at least 2 samples, got {x.numel()}")
    return _Samples(x, y)


def rank_candidates(
    x: Tensor,
    y: Tensor,
    names: Optional[Sequence[str]] = None,
    simplicity_weight: float = DEFAULT_SIMPLICITY_WEIGHT,
) -> list[SymbolicFit]:
    """Fit every candidate and sort the fits best first.

    Parameters
    ----------
    x, y : Tensor, shape (batch,) or (batch, 1)
        Edge inputs and outputs.
    names : sequence of str, optional
        Candidates to try; default all of
        :data:`~kan_core.symbolic_library.LIBRARY`.
    simplicity_weight : float
        Bits of accuracy one unit of complexity costs, ``>= 0``; see
        :func:`symbolic_score`.

    Returns
    -------
    list of SymbolicFit
        Sorted by score, highest first. Scores within 1e-9 of each other tie,
        and ties go to the lower complexity, then to the library order (so an
        exact sine lists ``sin`` before the equivalent ``cos``). Candidates
        undefined on the samples for every searched ``(b, c)`` are left out.

    Notes
    -----
    NOTE: the fits run thousands of small tensor ops. On a busy 2-core
    machine, torch 2.13 with 2 intra-op threads ran them 10 to 40 times
    slower than with ``torch.set_num_threads(1)`` (bench/bench_symbolic.py),
    because ops such as ``sin`` on 1000 values already wake the second thread.
    """
    names = list(LIBRARY) if names is None else list(names)
    for name in names:
        _check_name(name)
    _check_weight(simplicity_weight)
    samples = _prepare(x, y)

    fits = []
    for name in names:
        try:
            fits.append(_fit(name, samples, simplicity_weight))
        except UndefinedCandidateError:
            continue

    order = list(LIBRARY)
    fits.sort(key=lambda fit: (-round(fit.score, 9), fit.complexity, order.index(fit.name)))
    return fits
