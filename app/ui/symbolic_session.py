"""Session state and actions of the Symbolic regression page.

The page trains one KAN, and optionally an identical copy that is never snapped, through
`ui.live_training.LiveTraining`. Everything here changes only the current session's models:
snapping edges, undoing a snap, snapping all edges, pruning, and reading off the formula.
Each action either succeeds or leaves the models as they were and stores one plain sentence
that the page shows on its next run.

Edges are named ``(layer, i, j)``: edge from node i of layer ``layer`` to node j of the next.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
import sympy
import torch

from kan_core.formula import formula, formula_rmse, spline_edges
from kan_core.grids import update_grid_from_samples
from kan_core.model import KAN
from kan_core.pruning import SparsityRegularizer, attribution_scores, prune
from kan_core.snapping import auto_symbolic, edge_samples, fix_symbolic, suggest_symbolic, unfix_symbolic
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
    "Edge",
    "all_edges",
    "build_trainers",
    "candidates",
    "current_formula",
    "edge_label",
    "edge_state",
    "edge_curves",
    "init_page_state",
    "node_label",
    "prune_models",
    "hide_formula",
    "reset_page_state",
    "request_formula",
    "set_regularizer",
    "show_notice",
    "snap_all",
    "snap_edge",
    "undo_snap",
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
"""(place, kind, sentence) shown once by the panel named `place`; kind is "error",
"warning" or "success"."""
FORMULA_SHOWN = "sy_state_formula_shown"
"""True after the reader asked for the formula and every edge was symbolic or pruned."""
CANDIDATES = "sy_state_candidates"
"""(cache key, list of SymbolicFit) of the last ranked edge."""
ANIMATION = "sy_state_animation"
"""Dict with the snapped ``edge``, its ``name``, and the curve ``x``, ``before`` and ``after``
the snap, which the next run animates once; None otherwise."""
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
    """Forget snaps, marks and the formula; called when the trainers are rebuilt."""
    st.session_state[EVENTS] = []
    st.session_state[SNAPSHOTS] = {}
    st.session_state[FORMULA_SHOWN] = False
    st.session_state[CANDIDATES] = None
    st.session_state[ANIMATION] = None
    st.session_state[REVISION] += 1


def _notify(place: str, kind: str, sentence: str) -> None:
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


def _changed(label: str | None = None) -> None:
    # Marks the loss chart at the current step and invalidates the cached candidates.
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
        # NOTE: hidden values can leave their grid later; those edges then act only through
        # the base function there. Moving grids mid-run slowed Adam down in our trials.
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


# ----------------------------------------------------------------- actions


def _main_model() -> KAN:
    return LIVE.trainers[MAIN].model


def _save_spline(model: KAN, edge: Edge) -> None:
    layer, i, j = edge
    snapshots = st.session_state[SNAPSHOTS]
    if edge in snapshots:
        # A second snap replaces the function; Undo still returns to the original spline.
        return
    part = model.layers[layer]
    snapshots[edge] = {
        "coef": part.coef[i, j].detach().clone(),
        "scale_base": part.scale_base[i, j].detach().clone(),
        "scale_spline": part.scale_spline[i, j].detach().clone(),
    }


def snap_edge(
    edge: Edge,
    name: str,
    inputs: torch.Tensor,
    widths: list[int],
    params: tuple[float, float, float, float] | None = None,
) -> None:
    """Snap one edge of the main model to `name`, fitted, or with the given a, b, c, d.

    A pruned edge, or a function that is undefined on the edge's inputs, leaves the model
    unchanged and stores an error sentence instead.
    """
    model = _main_model()
    label = edge_label(edge, widths)
    if edge_state(model, edge) == "pruned":
        _notify(
            "edge",
            "warning",
            f"Edge {label} is pruned, so there is nothing to snap. Press Reset to train a "
            "network with all edges again.",
        )
        return

    layer, i, j = edge
    x, y = edge_samples(model, inputs, layer, i, j)
    before = edge_curves(model, inputs)[layer]
    try:
        fit = fix_symbolic(model.layers[layer], i, j, name, x, y, params=params)
    except ValueError as error:
        low, high = float(x.min()), float(x.max())
        _notify(
            "edge",
            "error",
            f"Edge {label} was not snapped to {name}: its inputs run from {low:.3g} to "
            f"{high:.3g}, and {error}.",
        )
        return

    # fix_symbolic leaves the spline parameters untouched, so saving them after the switch
    # still stores the spline from before it.
    _save_spline(model, edge)
    after = edge_curves(model, inputs)[layer]
    st.session_state[ANIMATION] = {
        "edge": edge,
        "name": name,
        "x": before["x"][:, i],
        "before": before["y"][:, i, j],
        "after": after["y"][:, i, j],
    }
    _changed(f"{label} = {name}")
    variable = node_label(layer, i, widths)
    _notify(
        "edge",
        "success",
        f"Edge {label} is now {fit.a:.3g}·{name}({fit.b:.3g}·{variable} {fit.c:+.3g}) "
        f"{fit.d:+.3g}, with R² = {fit.r2:.4f} against the spline it replaced.",
    )


def undo_snap(edge: Edge, widths: list[int]) -> None:
    """Switch a symbolic edge back to the spline it had before its snap."""
    model = _main_model()
    label = edge_label(edge, widths)
    if edge_state(model, edge) != "symbolic":
        _notify("edge", "warning", f"Edge {label} is not symbolic, so there is no snap to undo. Pick a symbolic edge.")
        return

    layer, i, j = edge
    part = model.layers[layer]
    unfix_symbolic(part, i, j)
    saved = st.session_state[SNAPSHOTS].pop(edge, None)
    if saved is not None:
        with torch.no_grad():
            part.coef[i, j] = saved["coef"]
            part.scale_base[i, j] = saved["scale_base"]
            part.scale_spline[i, j] = saved["scale_spline"]
    st.session_state[ANIMATION] = None
    st.session_state[FORMULA_SHOWN] = False
    _changed(f"undo {label}")
    _notify("edge", "success", f"Edge {label} is a spline again.")


def snap_all(inputs: torch.Tensor, threshold: float, weight: float, widths: list[int]) -> None:
    """Snap every spline edge whose best candidate reaches R² >= `threshold`."""
    model = _main_model()
    before = {
        (layer, i, j)
        for layer, part in enumerate(model.layers)
        for i in range(part.in_features)
        for j in range(part.out_features)
        if edge_state(model, (layer, i, j)) == "spline"
    }
    for edge in before:
        _save_spline(model, edge)

    report = auto_symbolic(model, inputs, threshold=threshold, simplicity_weight=weight)

    for item in report.skipped:
        st.session_state[SNAPSHOTS].pop((item.layer, item.i, item.j), None)
    if not report.snapped:
        _notify(
            "all",
            "warning",
            f"No edge reached R² ≥ {threshold:.3f}, so nothing was snapped. Lower the "
            "threshold, or train longer so the splines settle.",
        )
        return

    _changed(f"snap all ({len(report.snapped)})")
    if report.skipped:
        names = ", ".join(edge_label((s.layer, s.i, s.j), widths) for s in report.skipped[:6])
        _notify(
            "all",
            "warning",
            f"Snapped {len(report.snapped)} edges; {len(report.skipped)} stayed splines because "
            f"no function reached R² ≥ {threshold:.3f} ({names}). Lower the threshold or "
            "snap them one by one.",
        )
    else:
        _notify("all", "success", f"Snapped all {len(report.snapped)} spline edges.")


def prune_models(inputs: torch.Tensor, threshold: float) -> None:
    """Mask the hidden nodes of every model whose edges stay below `threshold`.

    The twin is pruned too, so the loss curves still differ only by the snaps.
    """
    removed = []
    for trainer in LIVE.trainers.values():
        model = trainer.model
        before = sum(edge_state(model, e) != "pruned" for e in all_edges(model))
        try:
            prune(model, inputs, threshold=threshold, shrink=False)
        except ValueError as error:
            _notify("prune", "error", f"Pruning failed: {error}.")
            return
        removed.append(before - sum(edge_state(model, e) != "pruned" for e in all_edges(model)))

    if removed[0] == 0:
        _notify(
            "prune",
            "warning",
            f"Every hidden node has an edge of magnitude ≥ {threshold:g}, so nothing was "
            "pruned. Raise the threshold, or train longer with a stronger sparsity penalty.",
        )
        return
    _changed(f"prune ({removed[0]} edges)")
    _notify("prune", "success", f"Pruned {removed[0]} edges.")


def all_edges(model: KAN) -> list[Edge]:
    """List every edge of `model` as (layer, i, j), layer by layer."""
    return [
        (layer, i, j)
        for layer, part in enumerate(model.layers)
        for i in range(part.in_features)
        for j in range(part.out_features)
    ]


def current_formula() -> tuple[sympy.Expr, str, float]:
    """Return the main model's formula, its LaTeX and its RMSE on the test samples.

    The result is cached until the model trains or changes.

    Raises
    ------
    ValueError
        When edges are still splines; the message lists them as (layer, i, j).
    """
    trainer = LIVE.trainers[MAIN]
    key = (LIVE.step_count, st.session_state[REVISION], id(trainer))
    cached = st.session_state[FORMULA_CACHE]
    if cached is not None and cached[0] == key:
        return cached[1]

    variables = VARIABLES[: trainer.model.widths[0]]
    expression = formula(trainer.model, variables, digits=4)
    rmse = formula_rmse(expression, variables, trainer.test_input, trainer.test_label)
    result = (expression, _latex_lines(expression), rmse)
    st.session_state[FORMULA_CACHE] = (key, result)
    return result


def _latex_lines(expression: sympy.Expr, terms_per_line: int = 3) -> str:
    # A long sum runs off the side of the page, so it is set as an aligned block of a few
    # terms per line. Each term keeps its own sign, so a negative term reads "- 0.3 x".
    if not isinstance(expression, sympy.Add):
        return sympy.latex(expression)
    parts = []
    for position, term in enumerate(expression.as_ordered_terms()):
        text = sympy.latex(term)
        if position == 0:
            parts.append(text)
        elif text.startswith("-"):
            parts.append(f"- {text[1:].lstrip()}")
        else:
            parts.append(f"+ {text}")
    lines = [" ".join(parts[start:start + terms_per_line]) for start in range(0, len(parts), terms_per_line)]
    return r"\begin{aligned}" + r" \\ & ".join(["&" + lines[0]] + lines[1:]) + r"\end{aligned}"


def request_formula() -> None:
    """Show the formula from now on, or explain which edges are still splines."""
    remaining = spline_edges(_main_model())
    if remaining:
        widths = _main_model().widths
        names = ", ".join(edge_label(edge, widths) for edge in remaining[:6])
        more = f" and {len(remaining) - 6} more" if len(remaining) > 6 else ""
        _notify(
            "formula",
            "warning",
            f"There is no formula yet, because {len(remaining)} edges are still splines "
            f"({names}{more}). Press Snap all, or snap them one by one.",
        )
        return
    try:
        current_formula()
    except ValueError as error:
        _notify("formula", "error", f"The formula could not be written: {error}.")
        return
    st.session_state[FORMULA_SHOWN] = True


def hide_formula() -> None:
    """Stop showing the formula."""
    st.session_state[FORMULA_SHOWN] = False

