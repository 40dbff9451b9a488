"""Switch KAN edges between splines and symbolic functions ``a * f(b * x + c) + d``.

An edge (i, j) of a `kan_core.layer.KANLayer` is a spline edge when
``spline_mask[i, j] = 1``, a symbolic edge when ``symbolic_mask[i, j] = 1`` and
pruned when both are 0. Snapping fits the symbolic form to what the spline
computes on the edge's actual inputs, then switches the masks. The fitted
``a, b, c, d`` live in the trainable ``symbolic_params``, so further training
refines them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch
from torch import Tensor

from kan_core.layer import KANLayer
from kan_core.model import KAN
from kan_core.symbolic import (
    DEFAULT_SIMPLICITY_WEIGHT,
    SymbolicFit,
    fit_symbolic,
    rank_candidates,
    symbolic_score,
)
from kan_core.symbolic_library import LIBRARY

__all__ = [
    "EdgeSnap",
    "SnapReport",
    "edge_samples",
    "fix_symbolic",
    "unfix_symbolic",
    "suggest_symbolic",
    "auto_symbolic",
]


@dataclass(frozen=True)
class EdgeSnap:
    """Outcome of :func:`auto_symbolic` for one spline edge.

    Attributes
    ----------
    layer, i, j : int
        Layer index, input node and output node of the edge.
    fit : SymbolicFit or None
        The candidate that was applied, or the best one that missed the
        threshold; None when no candidate could be fitted.
    snapped : bool
        Whether the edge is now symbolic.
    """

    layer: int
    i: int
    j: int
    fit: Optional[SymbolicFit]
    snapped: bool


@dataclass
class SnapReport:
    """Edges that :func:`auto_symbolic` snapped and the ones it left as splines."""

    snapped: list[EdgeSnap] = field(default_factory=list)
    skipped: list[EdgeSnap] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every spline edge became symbolic."""
        return not self.skipped


def _check_index(label: str, value: int, size: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label} must be an int, got {type(value).__name__}")
    if not 0 <= value < size:
        raise ValueError(f"{label} must be in [0, {size - 1}], got {value}")


def _check_edge(layer: KANLayer, i: int, j: int) -> None:
    if not isinstance(layer, KANLayer):
        raise TypeError(f"layer must be a KANLayer, got {type(layer).__name__}")
    _check_index("i", i, layer.in_features)
    _check_index("j", j, layer.out_features)


def _check_domain(name: str, params: Sequence[float], x: Tensor, edge: str) -> None:
    """Raise ValueError when ``b x + c`` leaves the domain of ``f`` at some input."""
    _, b, c, _ = params
    u = b * x.detach().to(torch.float64) + c
    outside = ~LIBRARY[name].domain(u)
    if bool(outside.any()):
        first = float(x[outside.nonzero()[0, 0]])
        raise ValueError(
            f"{name} is undefined on {int(outside.sum())} of {x.numel()} inputs of edge {edge} "
            f"with b={b:.6g}, c={c:.6g} (first at x={first:.6g}); fit the edge instead of "
            "giving parameters, or pick another function"
        )


def _r_squared(name: str, params: Sequence[float], x: Tensor, y: Tensor) -> float:
    a, b, c, d = params
    x = x.detach().to(torch.float64).reshape(-1)
    y = y.detach().to(torch.float64).reshape(-1)
    residual = y - (a * LIBRARY[name].torch_fn(b * x + c) + d)
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0.0:
        return math.nan
    return 1.0 - float((residual**2).sum()) / total


def _apply(layer: KANLayer, i: int, j: int, name: str, params: Sequence[float]) -> None:
    with torch.no_grad():
        layer.symbolic_params[i, j] = torch.tensor(params, dtype=layer.symbolic_params.dtype)
        layer.symbolic_names[i][j] = name
        layer.spline_mask[i, j] = 0.0
        layer.symbolic_mask[i, j] = 1.0


def fix_symbolic(
    layer: KANLayer,
    i: int,
    j: int,
    name: str,
    x: Tensor,
    y: Optional[Tensor] = None,
    params: Optional[Sequence[float]] = None,
    simplicity_weight: float = DEFAULT_SIMPLICITY_WEIGHT,
) -> SymbolicFit:
    """Switch edge (i, j) of ``layer`` from its spline to ``a * f(b x + c) + d``.

    Parameters
    ----------
    layer : KANLayer
        Changed in place.
    i, j : int
        Input node and output node of the edge.
    name : str
        Key of ``f`` in :data:`~kan_core.symbolic_library.LIBRARY`.
    x : Tensor, shape (batch,)
        Inputs the edge receives, for example from :func:`edge_samples`.
    y : Tensor, shape (batch,), optional
        What the edge outputs at ``x``. Required unless ``params`` is given.
    params : sequence of 4 float, optional
        ``(a, b, c, d)`` to use as they are instead of fitting.
    simplicity_weight : float
        Used for the ``score`` of the returned fit.

    Returns
    -------
    SymbolicFit
        The applied parameters and their R^2 on ``(x, y)`` (R^2 is NaN when
        ``params`` is given without ``y`` or with a constant ``y``).

    Raises
    ------
    ValueError
        For an edge outside the layer, an unknown name, neither ``y`` nor
        ``params``, or a function undefined at ``b x + c`` for some input.
    """
    _check_edge(layer, i, j)
    if name not in LIBRARY:
        raise ValueError(f"unknown symbolic function {name!r}; expected one of {list(LIBRARY)}")
    edge = f"({i}, {j})"

    if params is None:
        if y is None:
            raise ValueError("fix_symbolic needs the edge outputs y to fit, or params=(a, b, c, d)")
        fit = fit_symbolic(x, y, name, simplicity_weight=simplicity_weight)
    else:
        params = tuple(float(value) for value in params)
        if len(params) != 4:
            raise ValueError(f"params must be (a, b, c, d), got {len(params)} values")
        _check_domain(name, params, x, edge)
        r2 = math.nan if y is None else _r_squared(name, params, x, y)
        complexity = LIBRARY[name].complexity
        score = math.nan if math.isnan(r2) else symbolic_score(r2, complexity, simplicity_weight)
        fit = SymbolicFit(name, *params, r2, complexity, score)

    _apply(layer, i, j, name, fit.params)
    return fit


def unfix_symbolic(layer: KANLayer, i: int, j: int) -> None:
    """Switch edge (i, j) back to its spline; the spline coefficients were kept.

    Also revives a pruned edge. The symbolic parameters stay in
    ``symbolic_params`` but no longer act.
    """
    _check_edge(layer, i, j)
    with torch.no_grad():
        layer.symbolic_mask[i, j] = 0.0
        layer.spline_mask[i, j] = 1.0
    layer.symbolic_names[i][j] = None


def _check_model_layer(model: KAN, layer: int) -> None:
    if not isinstance(model, KAN):
        raise TypeError(f"model must be a KAN, got {type(model).__name__}")
    _check_index("layer", layer, len(model.layers))


def _intermediates(model: KAN, inputs: Tensor) -> list[dict[str, Tensor]]:
    if inputs.ndim != 2 or inputs.shape[1] != model.widths[0]:
        raise ValueError(f"inputs must have shape (batch, {model.widths[0]}), got {tuple(inputs.shape)}")
    with torch.no_grad():
        _, intermediates = model(inputs.to(model.dtype), return_intermediates=True)
    return intermediates


def edge_samples(model: KAN, inputs: Tensor, layer: int, i: int, j: int) -> tuple[Tensor, Tensor]:
    """Return what edge (i, j) of ``model.layers[layer]`` receives and outputs.

    Parameters
    ----------
    model : KAN
    inputs : Tensor, shape (batch, n_0)
        Network inputs.
    layer, i, j : int

    Returns
    -------
    x, y : Tensor, shape (batch,)
        Edge inputs and edge outputs, detached, in the model's dtype.
    """
    _check_model_layer(model, layer)
    _check_edge(model.layers[layer], i, j)
    record = _intermediates(model, inputs)[layer]
    return record["inputs"][:, i].clone(), record["edges"][:, i, j].clone()


def suggest_symbolic(
    model: KAN,
    inputs: Tensor,
    layer: int,
    i: int,
    j: int,
    top: int = 5,
    simplicity_weight: float = DEFAULT_SIMPLICITY_WEIGHT,
    names: Optional[Sequence[str]] = None,
) -> list[SymbolicFit]:
    """Rank library candidates for one edge on its actual inputs.

    Returns
    -------
    list of SymbolicFit
        The ``top`` best fits, best first (see
        :func:`kan_core.symbolic.rank_candidates`).
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, got {top!r}")
    x, y = edge_samples(model, inputs, layer, i, j)
    return rank_candidates(x, y, names=names, simplicity_weight=simplicity_weight)[:top]


def auto_symbolic(
    model: KAN,
    inputs: Tensor,
    threshold: float = 0.99,
    simplicity_weight: float = DEFAULT_SIMPLICITY_WEIGHT,
    names: Optional[Sequence[str]] = None,
) -> SnapReport:
    """Snap every spline edge that some candidate fits with ``R^2 >= threshold``.

    Layers are processed first to last, and each layer's edge samples come
    from a forward pass after the layers before it were snapped, so a later
    edge is fitted to the inputs it will really receive.

    Parameters
    ----------
    model : KAN
        Changed in place.
    inputs : Tensor, shape (batch, n_0)
    threshold : float
        Minimum R^2 in [0, 1]. Among the candidates that reach it, the one
        with the highest score is applied.
    simplicity_weight : float
    names : sequence of str, optional
        Candidates to try; default the whole library.

    Returns
    -------
    SnapReport
        Snapped and skipped edges with their fits. Symbolic and pruned edges
        are not listed.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    _check_model_layer(model, 0)
    report = SnapReport()

    for index, layer in enumerate(model.layers):
        record = _intermediates(model, inputs)[index]
        for i in range(layer.in_features):
            for j in range(layer.out_features):
                if float(layer.spline_mask[i, j]) == 0.0:
                    continue
                x, y = record["inputs"][:, i], record["edges"][:, i, j]
                ranking = rank_candidates(x, y, names=names, simplicity_weight=simplicity_weight)
                passing = [fit for fit in ranking if fit.r2 >= threshold]
                if not passing:
                    best = ranking[0] if ranking else None
                    report.skipped.append(EdgeSnap(index, i, j, best, False))
                    continue
                _apply(layer, i, j, passing[0].name, passing[0].params)
                report.snapped.append(EdgeSnap(index, i, j, passing[0], True))
    return report
