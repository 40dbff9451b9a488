"""The KAN network diagram: nodes in layers, every edge drawn as a small plot of its activation.

Node layers run from the inputs at the bottom to the output at the top. Between two node
layers sits one row of small boxes, one per edge, ordered by input node and then output
node. A line joins each input node to the bottom of its edge's box, and another joins the
top of the box to the output node. Inside each box the edge's curve phi(u) is drawn over
the inputs u that the edge actually receives, scaled to fill the box.

Colour shows the edge's state (spline, symbolic, pruned) and opacity its attribution score
relative to the strongest edge of its layer. Curves of the same state and opacity share one
trace, joined with None gaps, so a network of 40 edges still draws about a dozen traces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ui.figures.common import ACCENT, INK, style_figure

__all__ = ["EDGE_PREFIX", "STATE_COLORS", "network_figure"]

STATE_COLORS = {"spline": "#1c7ed6", "symbolic": "#2f9e44", "pruned": "#adb5bd"}
"""Colour of each edge state. The legend names them "spline edge" and so on."""

EDGE_PREFIX = "edge:"
"""Prefix of the ``customdata`` of the click targets: ``edge:<layer>-<i>-<j>``."""

# Opacity levels for the score relative to the layer's strongest edge. Even the weakest
# live edge stays visible, so a reader can still click it.
_OPACITY_LEVELS = (0.25, 0.5, 0.75, 1.0)
_PRUNED_OPACITY = 0.45
_BOX_HEIGHT = 0.62
_MAX_BOX_WIDTH = 0.14


def _positions(count: int) -> np.ndarray:
    return (np.arange(count) + 0.5) / count


def _opacity(score: float, strongest: float, state: str) -> float:
    if state == "pruned":
        return _PRUNED_OPACITY
    if not strongest > 0 or not np.isfinite(score):
        return _OPACITY_LEVELS[-1]
    share = min(max(score / strongest, 0.0), 1.0)
    level = min(int(share * len(_OPACITY_LEVELS)), len(_OPACITY_LEVELS) - 1)
    return _OPACITY_LEVELS[level]


def _scaled_curve(x: np.ndarray, y: np.ndarray, centre: tuple[float, float], size: tuple[float, float]):
    # Map the curve onto the box with 10 % padding. A flat curve sits on the middle line.
    span_x = x.max() - x.min()
    span_y = y.max() - y.min()
    u = (x - x.min()) / span_x if span_x > 0 else np.full_like(x, 0.5)
    v = (y - y.min()) / span_y if span_y > 1e-12 else np.full_like(y, 0.5)
    width, height = size
    px = centre[0] + (u - 0.5) * width * 0.9
    py = centre[1] + (v - 0.5) * height * 0.8
    return px, py


def network_figure(
    layers: Sequence[dict],
    node_labels: Sequence[Sequence[str]],
    *,
    selected: tuple[int, int, int] | None = None,
    uirevision: str = "network",
    height: int | None = None,
) -> go.Figure:
    """Draw the network with one small activation plot per edge.

    Parameters
    ----------
    layers : sequence of dict, one per KAN layer
        As returned by ``ui.symbolic_session.edge_curves``: ``x`` (points, n_in), ``y``
        (points, n_in, n_out), ``score`` (n_in, n_out), ``state`` (n_in, n_out) of
        "spline", "symbolic" or "pruned", and ``names`` (n_in, n_out) of symbolic
        function names or None.
    node_labels : sequence of sequence of str
        Names of the nodes of every node layer, inputs first.
    selected : (layer, i, j), optional
        Edge outlined in the accent colour.
    uirevision : str
    height : int, optional
        Defaults to 150 pixels per row of nodes or boxes.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: curves per (state, opacity) in legend groups named after the state, a
        "nodes" trace, a "symbolic names" text trace, and an "edges" marker trace whose
        ``customdata`` is ``edge:<layer>-<i>-<j>`` for click selection.
    """
    fig = go.Figure()
    node_x = [_positions(len(labels)) for labels in node_labels]
    curves: dict[tuple[str, float], tuple[list, list]] = {}
    shapes = []
    targets = {"x": [], "y": [], "id": [], "text": []}
    names = {"x": [], "y": [], "text": []}

    for index, layer in enumerate(layers):
        n_in, n_out = layer["score"].shape
        count = n_in * n_out
        box_x = _positions(count)
        width = min(0.8 / count, _MAX_BOX_WIDTH)
        row = 2 * index + 1
        strongest = float(np.nanmax(layer["score"])) if layer["score"].size else 0.0

        for i in range(n_in):
            for j in range(n_out):
                position = i * n_out + j
                centre = (float(box_x[position]), float(row))
                state = layer["state"][i][j]
                opacity = _opacity(float(layer["score"][i, j]), strongest, state)
                color = STATE_COLORS[state]
                bottom, top = row - _BOX_HEIGHT / 2, row + _BOX_HEIGHT / 2
                line = {"color": color, "width": 2}

                # Input node to box, box to output node, then the box itself.
                shapes.append(dict(type="line", x0=node_x[index][i], y0=row - 1, x1=centre[0], y1=bottom,
                                   line=line, opacity=opacity, layer="below"))
                shapes.append(dict(type="line", x0=centre[0], y0=top, x1=node_x[index + 1][j], y1=row + 1,
                                   line=line, opacity=opacity, layer="below"))
                shapes.append(dict(type="rect", x0=centre[0] - width / 2, x1=centre[0] + width / 2,
                                   y0=bottom, y1=top, line=line, fillcolor="white", opacity=opacity,
                                   layer="below"))

                px, py = _scaled_curve(layer["x"][:, i], layer["y"][:, i, j], centre, (width, _BOX_HEIGHT))
                xs, ys = curves.setdefault((state, opacity), ([], []))
                xs.extend(px.tolist() + [None])
                ys.extend(py.tolist() + [None])

                label = f"{node_labels[index][i]} → {node_labels[index + 1][j]}"
                function = layer["names"][i][j]
                detail = f"{state}: {function}" if state == "symbolic" else state
                targets["x"].append(centre[0])
                targets["y"].append(centre[1])
                targets["id"].append(f"{EDGE_PREFIX}{index}-{i}-{j}")
                targets["text"].append(f"{label}<br>{detail}<br>score {float(layer['score'][i, j]):.3g}")
                if state == "symbolic" and function is not None:
                    names["x"].append(centre[0])
                    names["y"].append(top + 0.1)
                    names["text"].append(function)

                if selected == (index, i, j):
                    shapes.append(dict(type="rect", x0=centre[0] - width / 2 - 0.008,
                                       x1=centre[0] + width / 2 + 0.008, y0=bottom - 0.08, y1=top + 0.08,
                                       line={"color": ACCENT, "width": 4}))

    # Legend entries in the fixed order spline, symbolic, pruned. A state with no edges gets
    # an empty entry, so the legend explains all three colours from the first step on.
    for state, color in STATE_COLORS.items():
        levels = sorted(opacity for curve_state, opacity in curves if curve_state == state)
        if not levels:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line={"color": color, "width": 2.5},
                                     name=f"{state} edge", legendgroup=state))
        for number, opacity in enumerate(levels):
            xs, ys = curves[(state, opacity)]
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", opacity=opacity, line={"color": color, "width": 2.5},
                name=f"{state} edge", legendgroup=state, showlegend=number == 0, hoverinfo="skip",
            ))

    fig.add_trace(go.Scatter(
        x=names["x"], y=names["y"], mode="text", text=names["text"], textposition="top center",
        textfont={"size": 14, "color": STATE_COLORS["symbolic"]}, name="symbolic names",
        showlegend=False, hoverinfo="skip",
    ))

    flat_x = [float(x) for positions in node_x for x in positions]
    flat_y = [2.0 * level for level, positions in enumerate(node_x) for _ in positions]
    flat_text = [label for labels in node_labels for label in labels]
    fig.add_trace(go.Scatter(
        x=flat_x, y=flat_y, mode="markers+text", text=flat_text, textposition="middle left",
        marker={"size": 16, "color": INK}, textfont={"size": 16}, name="nodes", showlegend=False,
        hoverinfo="skip",
    ))

    # Transparent squares over the boxes catch clicks and hovers for the whole box.
    fig.add_trace(go.Scatter(
        x=targets["x"], y=targets["y"], mode="markers", customdata=targets["id"],
        hovertext=targets["text"], hovertemplate="%{hovertext}<extra></extra>",
        marker={"size": 34, "symbol": "square", "color": "rgba(0, 0, 0, 0)"},
        name="edges", showlegend=False,
    ))

    rows = 2 * len(layers) + 1
    fig.update_layout(shapes=shapes, clickmode="event+select", dragmode=False, hovermode="closest")
    fig.update_xaxes(visible=False, range=[-0.04, 1.02], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.5, rows - 0.5], fixedrange=True)
    style_figure(fig, uirevision=uirevision, height=height or 150 * rows, legend_title="Edges")
    fig.update_layout(margin={"l": 20, "r": 20, "t": 50, "b": 10})
    return fig
