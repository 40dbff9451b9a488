"""Library of candidate functions for symbolic KAN edges.

A symbolic edge computes ``a * f(b * x + c) + d`` for one function ``f`` from
:data:`LIBRARY`. Each entry carries

* ``torch_fn``: a *safe* version of ``f`` used in training. It returns finite
  values and finite gradients for every finite input, including the points
  where the exact function has a pole or is undefined.
* ``sympy_fn``: the exact mathematical ``f`` as a callable on a sympy
  expression, used to write formulas.
* ``complexity``: an integer cost used to rank candidates (see below).
* ``domain``: a callable returning a boolean mask of the inputs on which
  ``torch_fn`` equals the exact function. The fitter only accepts parameters
  that keep every sample inside this mask, so a fitted formula never relies on
  a safe guard.
* ``parity``: ``"even"``, ``"odd"`` or ``None``. For even and odd functions a
  negative ``b`` gives nothing new, because ``f(-u) = +-f(u)`` is absorbed by
  the sign of ``a`` and the sign of ``c``.

Complexity scale (lower is simpler):

====  ==========================================================
 0    ``0`` (the edge is a constant)
 1    ``x``
 2    ``x^2``, ``x^3``, ``abs``: low-degree polynomials and the kink
 3    ``x^4``, ``1/x``, ``1/x^2``, ``sqrt``, ``exp``, ``log``, ``sin``,
      ``cos``: the elementary functions
 4    ``gaussian`` ``exp(-x^2)``, ``tanh``, ``arctan``, ``sgn``:
      compositions, saturating curves and the step
 5    ``tan``, ``arcsin``: a pole inside every period or a bounded domain
====  ==========================================================

Safe forms (``u`` is the input, all constants are absolute):

* ``1/x`` and ``1/x^2``: ``|u|`` is raised to at least 1e-4 keeping the sign of
  ``u`` (``+`` at ``u = 0``), so the output is at most 1e4 and 1e8 in size.
* ``log``: ``log(max(u, 1e-4))``. Zero and negative inputs give ``log(1e-4)``
  with zero gradient. We chose this over ``log|u|`` so that the safe form is
  the exact function wherever the exact function exists.
* ``sqrt``: ``sqrt(max(u, 1e-8))``, so the slope is at most 5e3.
* ``exp``: ``exp(min(u, 20))``. 20 keeps ``exp`` near 5e8, so a squared
  float32 loss stays far below the float32 maximum of 3.4e38.
* ``tan``: ``sin(u) / cos(u)`` with ``|cos(u)|`` raised to at least 1e-4
  keeping its sign, so ``|tan| <= 1e4``.
* ``arcsin``: ``arcsin(clamp(u, -1 + 1e-6, 1 - 1e-6))``; the slope there is
  about 707.
* ``gaussian``: ``exp(-clamp(u, -100, 100)^2)``. The clamp changes nothing in
  value (``exp(-1e4)`` underflows to 0) but keeps ``u^2`` finite.
* ``x^2``, ``x^3``, ``x^4``: the input is clamped to ``[-1e4, 1e4]``, so
  ``x^4 <= 1e16`` and the gradient of a squared float32 loss stays finite.
* ``x``, ``abs``, ``sgn``, ``sin``, ``cos``, ``tanh``, ``arctan`` are used
  as they are. ``sgn`` and ``0`` have zero gradient everywhere.

Clamping the *input* (not the output) is what keeps gradients finite: the
function and its derivative are only ever evaluated at safe points, and the
clamp passes a zero gradient outside the safe range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import sympy
import torch
from torch import Tensor

__all__ = ["SymbolicFunction", "LIBRARY", "POLE_EPS", "SQRT_EPS", "EXP_MAX", "ARCSIN_EPS", "POWER_MAX"]

POLE_EPS = 1e-4
"""Smallest ``|u|`` used by ``1/x`` and ``1/x^2``, smallest ``u`` used by ``log``
and smallest ``|cos(u)|`` used by ``tan``."""

SQRT_EPS = 1e-8
"""Smallest input used by ``sqrt``."""

EXP_MAX = 20.0
"""Largest input used by ``exp``."""

ARCSIN_EPS = 1e-6
"""``arcsin`` inputs are clamped to ``[-1 + ARCSIN_EPS, 1 - ARCSIN_EPS]``."""

POWER_MAX = 1e4
"""``x^2``, ``x^3`` and ``x^4`` clamp their input to ``[-POWER_MAX, POWER_MAX]``."""

_GAUSSIAN_MAX = 100.0


@dataclass(frozen=True)
class SymbolicFunction:
    """One candidate ``f`` for a symbolic edge ``a * f(b * x + c) + d``.

    Attributes
    ----------
    name : str
        Short key, equal to its key in :data:`LIBRARY`.
    torch_fn : Callable[[Tensor], Tensor]
        Elementwise safe version of ``f``; any shape, keeps dtype and device.
    sympy_fn : Callable[[sympy.Expr], sympy.Expr]
        Exact ``f`` applied to a sympy expression.
    complexity : int
        Cost on the scale in the module docstring (0 simplest).
    domain : Callable[[Tensor], Tensor]
        Boolean mask, same shape as the input, of the points where ``torch_fn``
        equals the exact ``f``.
    parity : str or None
        ``"even"``, ``"odd"`` or ``None`` (neither).
    """

    name: str
    torch_fn: Callable[[Tensor], Tensor]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    domain: Callable[[Tensor], Tensor]
    parity: Optional[str] = None


def _everywhere(u: Tensor) -> Tensor:
    return torch.ones_like(u, dtype=torch.bool)


def _away_from_zero(u: Tensor, eps: float) -> Tensor:
    # Raise |u| to eps keeping the sign of u (+0.0 maps to +eps, -0.0 to -eps),
    # so a later division gets a safe divisor in both value and gradient.
    floor = torch.copysign(torch.full_like(u, eps), u)
    return torch.where(u.abs() < eps, floor, u)


def _zero(u: Tensor) -> Tensor:
    return torch.zeros_like(u)


def _identity(u: Tensor) -> Tensor:
    return u


def _square(u: Tensor) -> Tensor:
    u = torch.clamp(u, -POWER_MAX, POWER_MAX)
    return u * u


def _cube(u: Tensor) -> Tensor:
    u = torch.clamp(u, -POWER_MAX, POWER_MAX)
    return u * u * u


def _fourth(u: Tensor) -> Tensor:
    u = torch.clamp(u, -POWER_MAX, POWER_MAX)
    square = u * u
    return square * square


def _bounded(u: Tensor) -> Tensor:
    return u.abs() <= POWER_MAX


def _reciprocal(u: Tensor) -> Tensor:
    return 1.0 / _away_from_zero(u, POLE_EPS)


def _inverse_square(u: Tensor) -> Tensor:
    safe = _away_from_zero(u, POLE_EPS)
    return 1.0 / (safe * safe)


def _sqrt(u: Tensor) -> Tensor:
    return torch.sqrt(torch.clamp(u, min=SQRT_EPS))


def _exp(u: Tensor) -> Tensor:
    return torch.exp(torch.clamp(u, max=EXP_MAX))


def _log(u: Tensor) -> Tensor:
    return torch.log(torch.clamp(u, min=POLE_EPS))


def _tan(u: Tensor) -> Tensor:
    return torch.sin(u) / _away_from_zero(torch.cos(u), POLE_EPS)


def _arcsin(u: Tensor) -> Tensor:
    bound = 1.0 - ARCSIN_EPS
    return torch.asin(torch.clamp(u, -bound, bound))


def _gaussian(u: Tensor) -> Tensor:
    safe = torch.clamp(u, -_GAUSSIAN_MAX, _GAUSSIAN_MAX)
    return torch.exp(-safe * safe)


def _nonzero(u: Tensor) -> Tensor:
    return u.abs() >= POLE_EPS


def _build_library() -> dict[str, SymbolicFunction]:
    entries = [
        ("0", _zero, lambda u: sympy.Integer(0), 0, _everywhere, "even"),
        ("x", _identity, lambda u: u, 1, _everywhere, "odd"),
        ("x^2", _square, lambda u: u**2, 2, _bounded, "even"),
        ("x^3", _cube, lambda u: u**3, 2, _bounded, "odd"),
        ("x^4", _fourth, lambda u: u**4, 3, _bounded, "even"),
        ("1/x", _reciprocal, lambda u: 1 / u, 3, _nonzero, "odd"),
        ("1/x^2", _inverse_square, lambda u: u**-2, 3, _nonzero, "even"),
        ("sqrt", _sqrt, sympy.sqrt, 3, lambda u: u >= SQRT_EPS, None),
        ("exp", _exp, sympy.exp, 3, lambda u: u <= EXP_MAX, None),
        ("log", _log, sympy.log, 3, lambda u: u >= POLE_EPS, None),
        ("sin", torch.sin, sympy.sin, 3, _everywhere, "odd"),
        ("cos", torch.cos, sympy.cos, 3, _everywhere, "even"),
        ("tan", _tan, sympy.tan, 5, lambda u: torch.cos(u).abs() >= POLE_EPS, "odd"),
        ("tanh", torch.tanh, sympy.tanh, 4, _everywhere, "odd"),
        ("abs", torch.abs, sympy.Abs, 2, _everywhere, "even"),
        ("sgn", torch.sign, sympy.sign, 4, _everywhere, "odd"),
        ("arctan", torch.atan, sympy.atan, 4, _everywhere, "odd"),
        ("arcsin", _arcsin, sympy.asin, 5, lambda u: u.abs() <= 1.0 - ARCSIN_EPS, "odd"),
        ("gaussian", _gaussian, lambda u: sympy.exp(-(u**2)), 4, _everywhere, "even"),
    ]
    library = {}
    for name, torch_fn, sympy_fn, complexity, domain, parity in entries:
        library[name] = SymbolicFunction(name, torch_fn, sympy_fn, complexity, domain, parity)
    return library


LIBRARY: dict[str, SymbolicFunction] = _build_library()
"""Candidate functions by short key, in a fixed order that also breaks ties
between equally good fits (``sin`` comes before ``cos``). Shared by all users
of the process: treat it as read-only."""
