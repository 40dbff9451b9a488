"""Actions of the Symbolic regression page: snap, undo, snap all, prune, and the formula.

Every action changes only the current session's models. It either succeeds, or it leaves
the models as they were and stores one plain sentence (`ui.symbolic_session.notify`) that
the panel named in it shows on the next run.
"""

from __future__ import annotations

import streamlit as st
import sympy
import torch

from kan_core.formula import formula, formula_rmse, spline_edges
from kan_core.model import KAN
from kan_core.pruning import prune
from kan_core.snapping import auto_symbolic, edge_samples, fix_symbolic, unfix_symbolic
from ui.symbolic_session import (
    ANIMATION,
    FORMULA_CACHE,
    FORMULA_SHOWN,
    LIVE,
    MAIN,
    REVISION,
    SNAPSHOTS,
    VARIABLES,
    Edge,
    all_edges,
    edge_curves,
    edge_label,
    edge_state,
    main_model,
    mark_changed,
    node_label,
    notify,
)

__all__ = [
    "current_formula",
    "hide_formula",
    "prune_models",
    "request_formula",
    "snap_all",
    "snap_edge",
    "undo_snap",
]


def _save_spline(model: KAN, edge: Edge) -> None:
    layer, i, j = edge
    snapshots = st.session_state[SNAPSHOTS]
    if edge in snapshots:
        # A second snap replaces the function, but Undo still returns to the original spline.
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
    model = main_model()
    label = edge_label(edge, widths)
    if edge_state(model, edge) == "pruned":
        notify(
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
        if params is None:
            sentence = (
                f"Edge {label} was not snapped to {name}, because {error}. Pick another function."
            )
        else:
            variable = node_label(layer, i, widths)
            sentence = (
                f"Edge {label} was not snapped: {name}({params[1]:g}·{variable} + {params[2]:g}) is "
                f"undefined for some of its inputs, which run from {low:.3g} to {high:.3g}. Choose "
                f"b and c so that b·{variable} + c stays where {name} is defined, or press Snap "
                "edge to fit them."
            )
        notify("edge", "error", sentence)
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
    mark_changed(f"{label} = {name}")
    variable = node_label(layer, i, widths)
    notify(
        "edge",
        "success",
        f"Edge {label} is now {fit.a:.3g}·{name}({fit.b:.3g}·{variable} {fit.c:+.3g}) "
        f"{fit.d:+.3g}, with R² = {fit.r2:.4f} against the spline it replaced.",
    )


def undo_snap(edge: Edge, widths: list[int]) -> None:
    """Switch a symbolic edge back to the spline it had before its snap."""
    model = main_model()
    label = edge_label(edge, widths)
    if edge_state(model, edge) != "symbolic":
        notify("edge", "warning", f"Edge {label} is not symbolic, so there is no snap to undo. Pick a symbolic edge.")
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
    mark_changed(f"undo {label}")
    notify("edge", "success", f"Edge {label} is a spline again.")


def _edges(count: int) -> str:
    return "1 edge" if count == 1 else f"{count} edges"


def snap_all(inputs: torch.Tensor, threshold: float, weight: float, widths: list[int]) -> None:
    """Snap every spline edge whose best candidate reaches R² >= `threshold`."""
    model = main_model()
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
        notify(
            "all",
            "warning",
            f"No edge reached R² ≥ {threshold:.3f}, so nothing was snapped. Lower the "
            "threshold, or train longer so the splines settle.",
        )
        return

    mark_changed(f"snap all ({len(report.snapped)})")
    if report.skipped:
        names = ", ".join(edge_label((s.layer, s.i, s.j), widths) for s in report.skipped[:6])
        notify(
            "all",
            "warning",
            f"Snapped {_edges(len(report.snapped))}, but {len(report.skipped)} stayed "
            f"{'a spline' if len(report.skipped) == 1 else 'splines'} because "
            f"no function reached R² ≥ {threshold:.3f} ({names}). Lower the threshold or "
            "snap them one by one.",
        )
    else:
        count = len(report.snapped)
        done = "Snapped the only spline edge." if count == 1 else f"Snapped all {count} spline edges."
        notify("all", "success", done)


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
            notify("prune", "error", f"Pruning failed: {error}.")
            return
        removed.append(before - sum(edge_state(model, e) != "pruned" for e in all_edges(model)))

    if removed[0] == 0:
        notify(
            "prune",
            "warning",
            f"Every hidden node has an edge of magnitude ≥ {threshold:g}, so nothing was "
            "pruned. Raise the threshold, or train longer with a stronger sparsity penalty.",
        )
        return
    mark_changed(f"prune ({removed[0]} edges)")
    notify("prune", "success", f"Pruned {removed[0]} edges.")


def current_formula() -> tuple[sympy.Expr, str, float]:
    """Return the main model's formula, its LaTeX and its RMSE on the test samples.

    The result is cached until the model trains or changes.

    Raises
    ------
    ValueError
        When edges are still splines. The message lists them as (layer, i, j).
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
    remaining = spline_edges(main_model())
    if remaining:
        widths = main_model().widths
        names = ", ".join(edge_label(edge, widths) for edge in remaining[:6])
        more = f" and {len(remaining) - 6} more" if len(remaining) > 6 else ""
        notify(
            "formula",
            "warning",
            f"There is no formula yet, because "
            f"{'1 edge is still a spline' if len(remaining) == 1 else f'{len(remaining)} edges are still splines'} "
            f"({names}{more}). "
            "Snap the remaining edges one by one, or lower the R² threshold and press Snap all.",
        )
        return
    try:
        current_formula()
    except ValueError as error:
        notify("formula", "error", f"The formula could not be written: {error}.")
        return
    st.session_state[FORMULA_SHOWN] = True


def hide_formula() -> None:
    """Stop showing the formula."""
    st.session_state[FORMULA_SHOWN] = False

