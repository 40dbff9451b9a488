"""Sparsity regularisation, attribution scores and pruning of KAN edges and nodes.

The magnitude of edge (i, j) of a layer is ``|phi_ij|_1``, the mean of
``|phi_ij(x_i)|`` over a batch. Following Liu et al., "KAN: Kolmogorov-Arnold
Networks" (2024), the sparsity penalty of a layer is

    mu_1 * sum_ij |phi_ij|_1  +  mu_2 * S,   S = -sum_ij p_ij log p_ij,
    p_ij = |phi_ij|_1 / sum_ij |phi_ij|_1,

summed over layers and multiplied by a strength lambda. The L1 term shrinks
all edges, the entropy term concentrates what is left on few edges. A hidden
node is kept when its largest incoming and its largest outgoing magnitude both
reach a threshold, 1e-2 by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from kan_core.model import KAN

__all__ = [
    "edge_magnitudes",
    "SparsityRegularizer",
    "attribution_scores",
    "node_scores",
    "PruneResult",
    "prune",
]


def _check_model(model: KAN, x: Tensor) -> None:
    if not isinstance(model, KAN):
        raise TypeError(f"model must be a KAN, got {type(model).__name__}")
    if x.ndim != 2 or x.shape[1] != model.widths[0]:
        raise ValueError(f"x must have shape (batch, {model.widths[0]}), got {tuple(x.shape)}")


def edge_magnitudes(model: KAN, x: Tensor) -> list[Tensor]:
    """Compute ``|phi_ij|_1``, the mean absolute edge output, for every layer.

    Parameters
    ----------
    model : KAN
    x : Tensor, shape (batch, n_0)

    Returns
    -------
    list of Tensor, shape (n_l, n_{l+1}) each
        Differentiable, so a regulariser can use them.
    """
    _check_model(model, x)
    _, intermediates = model(x, return_intermediates=True)
    return [record["edges"].abs().mean(dim=0) for record in intermediates]


@dataclass(frozen=True)
class SparsityRegularizer:
    """Callable ``(model, x) -> scalar`` for ``Trainer(regularizer=...)``.

    Attributes
    ----------
    strength : float
        lambda, the weight of the whole penalty against the MSE. With 1e-2,
        20 LBFGS updates concentrate exp(sin(pi x) + y^2) on one hidden node
        for seed 0 (tests/core/test_formula.py).
    l1_weight : float
        mu_1, weight of the L1 term (1 by default).
    entropy_weight : float
        mu_2, weight of the entropy term (2 by default).
    """

    strength: float = 1e-2
    l1_weight: float = 1.0
    entropy_weight: float = 2.0

    def __post_init__(self) -> None:
        for label in ("strength", "l1_weight", "entropy_weight"):
            value = getattr(self, label)
            if not math.isfinite(value):
                raise ValueError(f"{label} must be finite, got {value}")
            if value < 0:
                raise ValueError(f"{label} must be >= 0, got {value}")

    def __call__(self, model: KAN, x: Tensor) -> Tensor:
        total = x.new_zeros(())
        for magnitude in edge_magnitudes(model, x):
            l1 = magnitude.sum()
            # The tiny floor keeps log(0) and 0/0 out of pruned or dead layers.
            share = magnitude / (l1 + 1e-12)
            entropy = -(share * torch.log(share + 1e-12)).sum()
            total = total + self.l1_weight * l1 + self.entropy_weight * entropy
        return self.strength * total


def attribution_scores(model: KAN, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """Score how much every edge and node contributes to the outputs.

    Parameters
    ----------
    model : KAN
    x : Tensor, shape (batch, n_0)

    Returns
    -------
    edge_scores : list of Tensor, shape (n_l, n_{l+1}) each
    node_scores : list of Tensor, shape (n_l,) each, one per layer of nodes
        Output nodes score 1.

    Notes
    -----
    Scores flow backward from the outputs. With ``E_lij`` the standard
    deviation of ``phi_lij`` over the batch and ``N_{l+1,j}`` that of node j,
    ``B_lij = A_{l+1,j} E_lij / N_{l+1,j}`` and ``A_li = sum_j B_lij``. An
    edge thus gets the share of its target node's spread that it causes,
    times that node's own score.
    """
    _check_model(model, x)
    with torch.no_grad():
        _, intermediates = model(x, return_intermediates=True)
        node = torch.ones(model.widths[-1], dtype=x.dtype)
        edge_scores, node_list = [], [node]
        for record in reversed(intermediates):
            edge_std = record["edges"].std(dim=0)
            node_std = record["edges"].sum(dim=1).std(dim=0)
            # A constant node passes nothing on; the floor avoids 0/0.
            edges = edge_std * (node / node_std.clamp(min=1e-12))[None, :]
            node = edges.sum(dim=1)
            edge_scores.insert(0, edges)
            node_list.insert(0, node)
    return edge_scores, node_list


def node_scores(model: KAN, x: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Return (incoming, outgoing) magnitude scores of every hidden layer's nodes.

    ``incoming[i]`` is the largest ``|phi|_1`` of the edges into hidden node
    i, ``outgoing[i]`` the largest of the edges out of it.
    """
    with torch.no_grad():
        magnitudes = edge_magnitudes(model, x)
    scores = []
    for index in range(1, len(magnitudes)):
        incoming = magnitudes[index - 1].max(dim=0).values
        outgoing = magnitudes[index].max(dim=1).values
        scores.append((incoming, outgoing))
    return scores


@dataclass
class PruneResult:
    """Pruned network and the nodes it kept.

    Attributes
    ----------
    model : KAN
        A new, smaller KAN with ``shrink=True``; otherwise the input model with
        the removed edges masked.
    kept_nodes : list of list of int
        Indices, in the original network, of the nodes kept in each layer of
        nodes (inputs and outputs are always kept).
    """

    model: KAN
    kept_nodes: list[list[int]]

    @property
    def widths(self) -> list[int]:
        """Node count of every layer after pruning."""
        return [len(nodes) for nodes in self.kept_nodes]


def _mask_edges(layer, keep: Tensor) -> None:
    with torch.no_grad():
        layer.spline_mask.mul_(keep)
        layer.symbolic_mask.mul_(keep)
    for i, j in (~keep.bool()).nonzero().tolist():
        layer.symbolic_names[i][j] = None


def _shrunk_copy(model: KAN, kept: list[list[int]]) -> KAN:
    first = model.layers[0]
    small = KAN(
        [len(nodes) for nodes in kept],
        grid_size=[layer.grid_size for layer in model.layers],
        degree=model.degree,
        base_activation=first.base_activation,
        trainable_scales=first.trainable_scales,
        dtype=model.dtype,
        seed=model.seed,
    )
    for index, (old, new) in enumerate(zip(model.layers, small.layers)):
        rows = torch.tensor(kept[index])
        columns = torch.tensor(kept[index + 1])
        new.set_grid(old.grid[rows], old.coef[rows][:, columns])
        with torch.no_grad():
            for name in ("scale_base", "scale_spline", "symbolic_params", "spline_mask", "symbolic_mask"):
                getattr(new, name).copy_(getattr(old, name)[rows][:, columns])
        new.symbolic_names = [[old.symbolic_names[i][j] for j in kept[index + 1]] for i in kept[index]]
    return small


def prune(
    model: KAN,
    inputs: Tensor,
    threshold: float = 1e-2,
    edge_threshold: float | None = None,
    shrink: bool = True,
) -> PruneResult:
    """Remove hidden nodes, and optionally edges, whose magnitudes stay below thresholds.

    Parameters
    ----------
    model : KAN
    inputs : Tensor, shape (batch, n_0)
        Network inputs on which the magnitudes ``|phi|_1`` are measured.
    threshold : float
        A hidden node is kept when both its largest incoming and its largest
        outgoing magnitude are at least this value.
    edge_threshold : float, optional
        Also remove single edges with a magnitude below this value.
    shrink : bool
        Return a new KAN without the removed nodes and leave ``model`` as it
        was (True), or mask the removed edges in ``model`` itself (False).

    Returns
    -------
    PruneResult

    Raises
    ------
    ValueError
        For a negative threshold or inputs of the wrong shape.
    """
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if edge_threshold is not None and not edge_threshold >= 0:
        raise ValueError(f"edge_threshold must be >= 0 or None, got {edge_threshold}")
    _check_model(model, inputs)
    inputs = inputs.to(model.dtype)

    kept = [list(range(model.widths[0]))]
    for incoming, outgoing in node_scores(model, inputs):
        alive = (incoming >= threshold) & (outgoing >= threshold)
        kept.append(alive.nonzero()[:, 0].tolist())
    kept.append(list(range(model.widths[-1])))

    with torch.no_grad():
        magnitudes = edge_magnitudes(model, inputs)
    keeps = []
    for index, layer in enumerate(model.layers):
        rows = torch.tensor(kept[index], dtype=torch.long)
        columns = torch.tensor(kept[index + 1], dtype=torch.long)
        keep = torch.zeros_like(layer.spline_mask)
        keep[rows[:, None], columns[None, :]] = 1.0
        if edge_threshold is not None:
            keep = keep * (magnitudes[index] >= edge_threshold).to(keep.dtype)
        keeps.append(keep[rows][:, columns] if shrink else keep)

    if not shrink:
        for layer, keep in zip(model.layers, keeps):
            _mask_edges(layer, keep)
        return PruneResult(model, kept)

    for index, nodes in enumerate(kept):
        if not nodes:
            raise ValueError(
                f"pruning with threshold {threshold} removes every node of layer {index}; "
                "use a smaller threshold or train longer"
            )
    small = _shrunk_copy(model, kept)
    for layer, keep in zip(small.layers, keeps):
        _mask_edges(layer, keep)
    return PruneResult(small, kept)
