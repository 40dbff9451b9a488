"""Figures of the Symbolic regression page: one edge with its candidates, and a snap morph.

`candidates_figure` shows what an edge computes on the inputs it receives next to the best
symbolic fits, and how far each fit is off. `snap_figure` draws one frame of the short
animation from the spline to the symbolic curve after a snap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.figures.common import INK, sequence_colors, set_axis_titles, style_figure
from ui.figures.network import STATE_COLORS

__all__ = ["candidates_figure", "snap_figure"]

_MUTED = "#868e96"


def candidates_figure(
    x: np.ndarray,
    edge_output: np.ndarray,
    candidates: Sequence[tuple[str, np.ndarray]],
    *,
    state: str,
    edge_title: str,
    input_name: str,
    uirevision: str = "candidates",
    height: int = 470,
) -> go.Figure:
    """Draw an edge's curve with each candidate fit overlaid, and each fit's error.

    Parameters
    ----------
    x : array, shape (points,)
        Edge inputs in increasing order, from the smallest to the largest it receives.
    edge_output : array, shape (points,)
        phi(x) of the edge now.
    candidates : sequence of (label, values), values shape (points,)
        Legend label, such as ``"1. sin  R²=0.9991"``, and the fit evaluated at `x`.
    state : {"spline", "symbolic", "pruned"}
        Sets the colour of the edge's own curve.
    edge_title : str
        Such as ``"x → h1.2"``.
    input_name : str
        Name of the edge's input node, used as the x-axis title.

    Returns
    -------
    plotly.graph_objects.Figure
        Left: legend groups "edge" and "candidates"; right: the error of each fit.
    """
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1,
        subplot_titles=(f"edge {edge_title}: activation and fits", "fit − edge"),
    )
    fig.add_trace(go.Scatter(
        x=x, y=edge_output, mode="lines", line={"color": STATE_COLORS[state], "width": 6},
        name=f"edge now ({state})", legendgroup="edge",
        hovertemplate="φ(%{x:.3f}) = %{y:.4f}<extra></extra>",
    ), row=1, col=1)

    colors = sequence_colors(len(candidates))
    for color, (label, values) in zip(colors, candidates):
        fig.add_trace(go.Scatter(
            x=x, y=values, mode="lines", line={"color": color, "width": 2.5, "dash": "dash"},
            name=label, legendgroup="candidates",
            hovertemplate=f"{label}<br>%{{y:.4f}} at %{{x:.3f}}<extra></extra>",
        ), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=x, y=np.asarray(values) - np.asarray(edge_output), mode="lines",
            line={"color": color, "width": 2.5}, name=label, legendgroup="candidates",
            showlegend=False, hovertemplate=f"{label}<br>error %{{y:.3g}}<extra></extra>",
        ), row=1, col=2)

    fig.add_hline(y=0, line={"color": _MUTED, "width": 1}, row=1, col=2)
    set_axis_titles(fig, f"edge input {input_name}", "φ(input)", row=1, col=1)
    set_axis_titles(fig, f"edge input {input_name}", "fit minus edge", row=1, col=2)
    style_figure(fig, uirevision=uirevision, height=height, legend_title="Curves")
    fig.update_layout(legend={"y": -0.25, "yanchor": "top"}, margin={"b": 40})
    return fig


def snap_figure(
    x: np.ndarray,
    spline: np.ndarray,
    symbolic: np.ndarray,
    blend: float,
    *,
    edge_title: str,
    function_name: str,
    input_name: str,
    height: int = 380,
) -> go.Figure:
    """Draw one frame of the morph from an edge's spline to its symbolic curve.

    Parameters
    ----------
    x : array, shape (points,)
    spline, symbolic : array, shape (points,)
        The edge before and after the snap.
    blend : float
        0 draws the spline, 1 the symbolic curve, values between mix them linearly.
    edge_title, function_name, input_name : str
    """
    blend = min(max(float(blend), 0.0), 1.0)
    mixed = (1.0 - blend) * np.asarray(spline) + blend * np.asarray(symbolic)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=x, y=spline, mode="lines", line={"color": STATE_COLORS["spline"], "width": 2, "dash": "dot"},
        name="spline before the snap",
    ))
    fig.add_trace(go.Scatter(
        x=x, y=mixed, mode="lines", line={"color": STATE_COLORS["symbolic"] if blend >= 1 else INK, "width": 5},
        name=f"{function_name} fit" if blend >= 1 else "snapping…",
    ))
    fig.update_layout(title={"text": f"Snapping edge {edge_title} to {function_name}"})
    # A fixed y range keeps the frames from jumping while the curve moves.
    low = float(min(np.min(spline), np.min(symbolic)))
    high = float(max(np.max(spline), np.max(symbolic)))
    pad = 0.08 * (high - low) if high > low else 1.0
    fig.update_yaxes(range=[low - pad, high + pad])
    set_axis_titles(fig, f"edge input {input_name}", "φ(input)")
    return style_figure(fig, uirevision="snap-morph", height=height, legend_title="Edge")
