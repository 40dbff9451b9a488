"""Panels of the Symbolic regression page below the live training: one edge, snap all, formula.

Each panel draws its widgets, reads the main model through `ui.symbolic_session`, and hands
every change to a session action. Most actions run as button callbacks, so a click changes
the model before the page draws it again. Snap all runs in the page under a spinner and
then reruns it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import streamlit as st
import torch

from kan_core.symbolic import DEFAULT_SIMPLICITY_WEIGHT
from kan_core.symbolic_library import LIBRARY
from ui import symbolic_actions as actions
from ui import symbolic_session as session
from ui.controls import BIND
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.symbolic import candidates_figure, snap_figure

__all__ = ["BEST", "edge_panel", "formula_panel", "snap_all_panel", "weight_slider"]

BEST = "best"
"""Function menu entry that snaps to the best-ranked candidate."""

_MORPH_FRAMES = 8
_MORPH_PAUSE_S = 0.06


def weight_slider() -> float:
    """Draw the simplicity weight slider, shared by the ranking and Snap all."""
    return st.slider(
        "Simplicity weight",
        min_value=0.0,
        max_value=4.0,
        value=DEFAULT_SIMPLICITY_WEIGHT,
        step=0.25,
        key="sy_weight",
        bind=BIND,
        help=(
            "Bits of accuracy that one unit of complexity costs when candidates are ranked. "
            "0 ranks by R² alone; higher values prefer simpler functions such as x or x²."
        ),
    )


def _candidate_table(fits) -> dict[str, list]:
    return {
        "rank": list(range(1, len(fits) + 1)),
        "function": [fit.name for fit in fits],
        "R²": [fit.r2 for fit in fits],
        "complexity": [fit.complexity for fit in fits],
        "score": [fit.score for fit in fits],
        "a": [fit.a for fit in fits],
        "b": [fit.b for fit in fits],
        "c": [fit.c for fit in fits],
        "d": [fit.d for fit in fits],
    }


def _animate_snap(widths: list[int]) -> None:
    # Redraw one chart a few times so the curve visibly moves into its symbolic form.
    animation = st.session_state[session.ANIMATION]
    st.session_state[session.ANIMATION] = None
    layer, i, _ = animation["edge"]
    placeholder = st.empty()
    for frame in range(_MORPH_FRAMES + 1):
        blend = frame / _MORPH_FRAMES
        placeholder.plotly_chart(
            snap_figure(
                animation["x"], animation["before"], animation["after"], blend,
                edge_title=session.edge_label(animation["edge"], widths),
                function_name=animation["name"],
                input_name=session.node_label(layer, i, widths),
            ),
            config=PLOTLY_CONFIG,
            width="stretch",
        )
        if frame < _MORPH_FRAMES:
            time.sleep(_MORPH_PAUSE_S)


def edge_panel(edge: session.Edge, widths: list[int], weight: float) -> None:
    """Draw one edge large with its five best candidates, and the snap and undo controls."""
    trainer = session.LIVE.trainers[session.MAIN]
    model, inputs = trainer.model, trainer.train_input
    layer, i, j = edge
    label = session.edge_label(edge, widths)
    state = session.edge_state(model, edge)

    animation = st.session_state[session.ANIMATION]
    if animation is not None and animation["edge"] == edge:
        _animate_snap(widths)

    with st.spinner(f"Fitting {len(LIBRARY)} functions to edge {label}…"):
        fits = session.candidates(model, inputs, edge, weight)
    curves = session.edge_curves(model, inputs)[layer]
    x = curves["x"][:, i]
    x_tensor = torch.as_tensor(x, dtype=model.dtype)
    overlays = [
        (f"{rank}. {fit.name}  R²={fit.r2:.4f}", fit.evaluate(x_tensor).numpy())
        for rank, fit in enumerate(fits, start=1)
    ]

    description = {
        "spline": "a spline",
        "symbolic": f"symbolic: {model.layers[layer].symbolic_names[i][j]}",
        "pruned": "pruned",
    }[state]
    st.markdown(f"**Edge {label}** is {description}. Its five best candidates at step {session.LIVE.step_count:,}:")
    st.dataframe(
        _candidate_table(fits),
        hide_index=True,
        width="stretch",
        column_config={
            "R²": st.column_config.NumberColumn(format="%.5f"),
            "score": st.column_config.NumberColumn(format="%.2f", help="Accuracy in bits minus weight × complexity."),
            **{name: st.column_config.NumberColumn(format="%.4g") for name in "abcd"},
        },
        key="sy_candidates_table",
    )
    st.plotly_chart(
        candidates_figure(
            x, curves["y"][:, i, j], overlays, state=state, edge_title=label,
            input_name=session.node_label(layer, i, widths),
            # Zoom belongs to one edge, because another edge has other input and output ranges.
            uirevision=f"candidates-{layer}-{i}-{j}",
        ),
        key="sy_candidates_chart",
        config=PLOTLY_CONFIG,
        width="stretch",
    )
    _snap_controls(edge, widths, fits, state, inputs)


def _snap_controls(edge, widths, fits, state: str, inputs) -> None:
    best_name = fits[0].name if fits else "x"
    options = [BEST] + list(LIBRARY)
    function_column, snap_column, undo_column = st.columns([2, 1, 1], vertical_alignment="bottom")
    choice = function_column.selectbox(
        "Function to snap to",
        options,
        format_func=lambda name: f"best candidate ({best_name})" if name == BEST else name,
        key="sy_function",
        bind=BIND,
        help="The edge becomes a·f(b·u + c) + d with a, b, c, d fitted to what it computes now.",
    )
    name = best_name if choice == BEST else choice
    snap_column.button(
        "Snap edge", key="sy_snap", type="primary", width="stretch", icon=":material/function:",
        on_click=actions.snap_edge, args=(edge, name, inputs, widths), disabled=state == "pruned",
        help=f"Replace this edge by the best fit of {name}.",
    )
    undo_column.button(
        "Undo snap", key="sy_undo", width="stretch", icon=":material/undo:",
        on_click=actions.undo_snap, args=(edge, widths), disabled=state != "symbolic",
        help="Switch this edge back to the spline it had before the snap.",
    )
    session.show_notice("edge")

    with st.expander("Snap with your own a, b, c, d"):
        st.caption(
            f"The edge becomes a·{name}(b·u + c) + d with exactly these numbers, where u is the "
            "edge's input. Training refines them afterwards."
        )
        columns = st.columns(4)
        params = tuple(
            float(column.number_input(
                letter, value=default, step=0.1, format="%.4f", key=f"sy_{letter}", bind=BIND,
                min_value=-1e4, max_value=1e4,
            ))
            for column, letter, default in zip(columns, "abcd", (1.0, 1.0, 0.0, 0.0))
        )
        st.button(
            f"Snap to {name} with these numbers", key="sy_snap_params", icon=":material/edit:",
            on_click=actions.snap_edge, args=(edge, name, inputs, widths), kwargs={"params": params},
            disabled=state == "pruned",
        )


def snap_all_panel(widths: list[int], weight: float) -> None:
    """Draw the threshold and the Snap all button."""
    trainer = session.LIVE.trainers[session.MAIN]
    threshold = st.slider(
        "R² threshold",
        min_value=0.5,
        max_value=1.0,
        value=0.95,
        step=0.005,
        format="%.3f",
        key="sy_threshold",
        bind=BIND,
        help="An edge is snapped only when its best candidate explains at least this share of its variance.",
    )
    clicked = st.button(
        "Snap all", key="sy_snap_all", type="primary", icon=":material/auto_fix_high:",
        help="Snap every spline edge to its best candidate that reaches the threshold.",
    )
    if clicked:
        # This runs in the page rather than in a callback, so the spinner shows while every
        # edge is fitted. The rerun then draws the snapped network.
        count = sum(
            session.edge_state(trainer.model, edge) == "spline" for edge in session.all_edges(trainer.model)
        )
        with st.spinner(f"Fitting {len(LIBRARY)} functions to each of {count} spline edges…"):
            actions.snap_all(trainer.train_input, threshold, weight, widths)
        st.rerun()
    session.show_notice("all")


def formula_panel() -> None:
    """Draw the Show formula button and, once asked, the formula with its test RMSE."""
    formula_visible = st.session_state[session.FORMULA_SHOWN]
    show_column, hide_column = st.columns(2)
    show_column.button(
        "Show formula", key="sy_show_formula", type="primary", icon=":material/functions:",
        on_click=actions.request_formula, width="stretch",
        help="Compose the symbolic edges into one formula. Every edge must be symbolic or pruned first.",
    )
    hide_column.button(
        "Hide formula", key="sy_hide_formula", on_click=actions.hide_formula, disabled=not formula_visible,
        width="stretch",
    )
    session.show_notice("formula")
    if not formula_visible:
        return

    try:
        expression, latex, rmse = actions.current_formula()
    except ValueError as error:
        st.warning(f"The formula is out of date, because {error}. Snap the remaining edges again.")
        return

    network_rmse = math.sqrt(session.LIVE.trainers[session.MAIN].evaluate()["test_loss"])
    st.latex(f"f(x, y) \\approx {latex}")
    formula_column, network_column = st.columns(2)
    formula_column.metric("Test RMSE of the formula", f"{rmse:.4g}" if np.isfinite(rmse) else "undefined")
    network_column.metric("Test RMSE of the network now", f"{network_rmse:.4g}")
    st.caption(
        f"Numbers are rounded to 4 decimals after expanding, at step {session.LIVE.step_count:,}. "
        "Copy the sympy expression with the button at the right of the box:"
    )
    st.code(str(expression), language="python")
