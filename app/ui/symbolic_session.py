"""Session state of the Symbolic regression page, and how it builds and reads its models.

The page trains one KAN, and optionally an identical copy that is never snapped, through
`ui.live_training.LiveTraining`. This module names every session-state key and sets them in
one place, builds the trainers, and reads edges, curves and candidates from the models.
The actions that change the models are in `ui.symbolic_actions`.

Edges are named ``(layer, i, j)``: edge from node i of layer ``layer`` to node j of the next.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
import torch

from kan_core.grids import update_grid_from_samples
from kan_core.model import KAN
from kan_core.pruning import SparsityRegularizer, attribution_scores
from kan_core.snapping import suggest_symbolic
from kan_core.targets import Dataset
from kan_core.training import Trainer
from ui.live_training import LiveTraining
from ui.state import init_state

__all__ = [
    "ANIMATION",
    "CANDIDATES",
    "COMPARISON",
    "EVENTS",
    "FORMULA_CACHE",
    "FORMULA_SHOWN",
    "LAST_CLICK",
    "LAST_WIDTHS",
    "LIVE",
    "MAIN",
    "NOTICE",
    "PENDING_EDGE",
    "REVISION",
    "SNAPSHOTS",
    "VARIABLES",
    "Edge",
    "all_edges",
    "build_trainers",
    "candidates",
    "edge_curves",
    "edge_label",
    "edge_state",
    "init_page_state",
    "main_model",
    "mark_changed",
    "node_label",
    "notify",
    "reset_page_state",
    "set_regularizer",
    "show_notice",
]

Edge = tuple[int, int, int]

MAIN = "KAN"
COMPARISON = "KAN never snapped"
VARIABLES = ("x", "y")

LIVE = LiveTraining("sy", interval=0.4, tick_budget=0.15, chunk_steps=5, click_steps=20)

EVENTS = "sy_state_events"
"""List of (step, label) marks on the loss chart: snaps, undos and prunes."""
SNAPSHOTS = "sy_state_snapshots"
"""Edge to the spline parameters it had just before its snap, so Undo restores them exactly."""
NOTICE = "sy_state_notice"
"""(place, kind, sentence) shown once by the panel named `place`. The kind is "error",
"warning" or "success"."""
FORMULA_SHOWN = "sy_state_formula_shown"
"""True after the reader asked for the formula and every edge was symbolic or pruned."""
CANDIDATES = "sy_state_candidates"
"""(cache key, list of SymbolicFit) of the last ranked edge."""
ANIMATION = "sy_state_animation"
"""Dict with the snapped ``edge``, its ``name``, and the curve ``x``, ``before`` and ``after``
the snap, which the next run animates once, or None."""
FORMULA_CACHE = "sy_state_formula_cache"
"""(cache key, (expression, LaTeX, test RMSE)) of the last formula."""
LAST_CLICK = "sy_state_last_click"
"""Customdata of the diagram point handled last, so an old selection does not win again."""
PENDING_EDGE = "sy_state_pending_edge"
"""Edge clicked in the diagram, applied to the edge select box at the top of the next run."""
LAST_WIDTHS = "sy_state_last_widths"
"""Last valid widths typed by the reader, kept while the current text is invalid."""
REVISION = "sy_state_revision"
"""Counter raised by every change to the models other than training, to refresh caches."""


def init_page_state() -> None:
    """Set the first value of every session-state key of the page, in one place."""
    LIVE.init_state()
    init_state({
        EVENTS: [],
        SNAPSHOTS: {},
        NOTICE: None,
        FORMULA_SHOWN: False,
        CANDIDATES: None,
        ANIMATION: None,
        PENDING_EDGE: None,
        REVISION: 0,
        FORMULA_CACHE: None,
        LAST_CLICK: None,
        LAST_WIDTHS: [2, 5, 1],
    })


def reset_page_state() -> None:
    """Forget snaps, marks and the formula. The page calls it when the trainers are rebuilt."""
    st.session_state[EVENTS] = []
    st.session_state[SNAPSHOTS] = {}
    st.session_state[FORMULA_SHOWN] = False
    st.session_state[CANDIDATES] = None
    st.session_state[ANIMATION] = None
    st.session_state[REVISION] += 1


def notify(place: str, kind: str, sentence: str) -> None:
    """Store one sentence for the panel `place` to show on the next run."""
    st.session_state[NOTICE] = (place, kind, sentence)


def show_notice(place: str) -> None:
    """Show, once, the sentence that the last action stored for the panel `place`."""
    notice = st.session_state[NOTICE]
    if notice is None or notice[0] != place:
        return
    st.session_state[NOTICE] = None
    _, kind, sentence = notice
    show = {"error": st.error, "warning": st.warning, "success": st.success}[kind]
    show(sentence)


def mark_changed(label: str | None = None) -> None:
    """Mark the loss chart at the current step with `label`, and refresh the caches."""
    if label is not None:
        st.session_state[EVENTS].append((LIVE.step_count, label))
    st.session_state[REVISION] += 1


# ----------------------------------------------------------------- building


def build_trainers(
    dataset: Dataset,
    widths: list[int],
    grid_size: int,
    *,
    lr: float,
    seed: int,
    compare: bool,
) -> dict[str, Trainer]:
    """Build the KAN, and its never-snapped twin when `compare`, with grids on the data.

    Both models start from the same seeded initial network, so until the first snap their
    loss curves are the same line.
    """
    trainers = {}
    names = [MAIN, COMPARISON] if compare else [MAIN]
    for name in names:
        model = KAN(widths, grid_size=grid_size, dtype=torch.float64, seed=seed)
        # Every layer's grid starts where its inputs lie, as pykan does before training.
        # NOTE: hidden values can leave their grid later, and those edges then act only
        # through the base function there. Refitting the grids every 25 steps up to step 200
        # doubled the default target's test loss at step 400 (Adam, lr 3e-2), so it is not done.
        update_grid_from_samples(model, dataset.train_input.to(torch.float64))
        trainers[name] = Trainer(model, dataset, optimizer="adam", lr=lr, seed=seed)
    return trainers


def set_regularizer(trainers: Mapping[str, Trainer], strength: float) -> None:
    """Use the sparsity penalty of `strength` (0 turns it off) from the next update on."""
    regularizer = SparsityRegularizer(strength) if strength > 0 else None
    for trainer in trainers.values():
        trainer.regularizer = regularizer


# ----------------------------------------------------------------- reading the model


def node_label(layer: int, index: int, widths: list[int]) -> str:
    """Name node `index` of node layer `layer`: x and y for inputs, f for the output."""
    if layer == 0:
        return VARIABLES[index] if index < len(VARIABLES) else f"x{index + 1}"
    if layer == len(widths) - 1:
        return "f" if widths[-1] == 1 else f"f{index + 1}"
    return f"h{layer}.{index + 1}"


def edge_label(edge: Edge, widths: list[int]) -> str:
    """Name an edge by its two nodes, such as ``x → h1.2``."""
    layer, i, j = edge
    return f"{node_label(layer, i, widths)} → {node_label(layer + 1, j, widths)}"


def edge_state(model: KAN, edge: Edge) -> str:
    """Return "spline", "symbolic" or "pruned" for one edge."""
    layer, i, j = edge
    if float(model.layers[layer].symbolic_mask[i, j]) != 0.0:
        return "symbolic"
    if float(model.layers[layer].spline_mask[i, j]) != 0.0:
        return "spline"
    return "pruned"


def edge_curves(model: KAN, inputs: torch.Tensor, points: int = 48) -> list[dict]:
    """Sample every edge activation across the inputs its layer actually receives.

    Returns
    -------
    list of dict, one per layer
        ``x`` (points, n_in) runs evenly from the smallest to the largest input of each
        node, and ``y`` (points, n_in, n_out) contains the edge outputs there. ``score``
        (n_in, n_out) is the attribution score of each edge. ``state`` and ``names``
        (n_in, n_out) are nested lists of the state and the symbolic function or None.
    """
    with torch.no_grad():
        _, intermediates = model(inputs.to(model.dtype), return_intermediates=True)
        scores, _ = attribution_scores(model, inputs.to(model.dtype))
        layers = []
        for index, (layer, record) in enumerate(zip(model.layers, intermediates)):
            lower = record["inputs"].min(dim=0).values
            upper = record["inputs"].max(dim=0).values
            fractions = torch.linspace(0.0, 1.0, points, dtype=model.dtype)[:, None]
            x = lower + fractions * (upper - lower)
            states = [
                [edge_state(model, (index, i, j)) for j in range(layer.out_features)]
                for i in range(layer.in_features)
            ]
            layers.append({
                "x": x.numpy(),
                "y": layer.edge_outputs(x).numpy(),
                "score": scores[index].numpy(),
                "state": states,
                "names": [list(row) for row in layer.symbolic_names],
            })
    return layers


def candidates(model: KAN, inputs: torch.Tensor, edge: Edge, weight: float) -> list:
    """Return the five best symbolic fits of one edge, cached until the model changes."""
    key = (edge, LIVE.step_count, st.session_state[REVISION], weight, id(model))
    cached = st.session_state[CANDIDATES]
    if cached is not None and cached[0] == key:
        return cached[1]
    fits = suggest_symbolic(model, inputs, *edge, top=5, simplicity_weight=weight)
    st.session_state[CANDIDATES] = (key, fits)
    return fits


def all_edges(model: KAN) -> list[Edge]:
    """List every edge of `model` as (layer, i, j), layer by layer."""
    return [
        (layer, i, j)
        for layer, part in enumerate(model.layers)
        for i in range(part.in_features)
        for j in range(part.out_features)
    ]


def main_model() -> KAN:
    """Return the model that the reader snaps, the first of the live trainers."""
    return LIVE.trainers[MAIN].model
