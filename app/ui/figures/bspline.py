"""Figures of the B-splines page: bases, a spline with its control points, fits, error sweeps.

Each builder takes a result object of `kan_core.spline_tables` or `kan_core.approximation`
and only places it. Traces
carry a ``legendgroup`` naming their role ("bases", "sum", "knots", ...), which tests use
to count them. The charts redraw on every slider move, so they are built with
`assemble_figure`, which skips Plotly's validation; ``tests/app/test_bsplines_figures.py``
builds each one with validation on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from kan_core.approximation import ErrorSweep, TargetFit
from kan_core.spline_tables import BasisTable, SplineCurve
from ui.figures.common import (
    ACCENT,
    INK,
    assemble_figure,
    axis_style,
    sequence_colors,
    shared_layout,
    stacked_axes,
)

__all__ = ["basis_figure", "error_sweep_figure", "fit_figure", "spline_figure"]

SPLINE_COLOR = "#3b5bdb"
_DOMAIN_FILL = "rgba(59, 91, 219, 0.07)"
_SUPPORT_FILL = "rgba(232, 89, 12, 0.14)"
_MUTED = "#868e96"


def _knot_trace(knots: np.ndarray, *, y: float = 0.0, axes: str = "y") -> dict:
    # One marker per distinct knot, labelled with its multiplicity when a knot repeats.
    values, counts = np.unique(np.round(knots, 12), return_counts=True)
    return {
        "type": "scatter",
        "x": values,
        "y": np.full(values.shape, y),
        "yaxis": axes,
        "mode": "markers+text",
        "text": [f"×{count}" if count > 1 else "" for count in counts],
        "textposition": "top center",
        "marker": {"symbol": "triangle-up", "size": 13, "color": INK},
        "name": "knots",
        "legendgroup": "knots",
        "hovertemplate": "knot t = %{x:.4g}<extra></extra>",
    }


def _band(x0: float, x1: float, fill: str, rows: int) -> list[dict]:
    # A shaded vertical band through every row of a stacked figure.
    return [
        {
            "type": "rect", "xref": "x", "yref": f"y{'' if row == 1 else row} domain",
            "x0": x0, "x1": x1, "y0": 0, "y1": 1,
            "fillcolor": fill, "line": {"width": 0}, "layer": "below",
        }
        for row in range(1, rows + 1)
    ]


def basis_figure(table: BasisTable, degree: int, *, uirevision: str = "bs-basis") -> go.Figure:
    """Draw every basis N_{i,k}, their sum and the knots, and below, how many are non-zero.

    Parameters
    ----------
    table : kan_core.spline_tables.BasisTable
    degree : int
        Degree k, used in labels and for the reference line at k + 1 overlapping bases.
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows sharing x. Row 1 has one trace per basis (legend group "bases"), their sum
        ("sum") and the knots ("knots"). Row 2 has the count of non-zero bases ("count").
    """
    n_basis = table.basis.shape[1]
    traces = []
    for index, color in enumerate(sequence_colors(n_basis)):
        traces.append({
            "type": "scatter", "x": table.x, "y": table.basis[:, index], "mode": "lines",
            "line": {"color": color, "width": 2.5},
            # The first basis stands for all of them in the legend.
            "name": f"bases N<sub>i,{degree}</sub> ({n_basis})" if index == 0 else f"N{index},{degree}",
            "legendgroup": "bases",
            "showlegend": index == 0,
            "hovertemplate": f"N<sub>{index},{degree}</sub>(%{{x:.3f}}) = %{{y:.3f}}<extra></extra>",
        })
    traces.append({
        "type": "scatter", "x": table.x, "y": table.total, "mode": "lines",
        "line": {"color": INK, "width": 3, "dash": "dash"},
        "name": "sum of all bases", "legendgroup": "sum",
        "hovertemplate": "sum = %{y:.3f}<extra></extra>",
    })
    traces.append(_knot_trace(table.knots))
    traces.append({
        "type": "scatter", "x": table.count_x, "y": table.nonzero_count, "xaxis": "x2",
        "yaxis": "y2", "mode": "lines", "line": {"color": ACCENT, "width": 3, "shape": "hv"},
        "name": "non-zero bases at x", "legendgroup": "count",
        "hovertemplate": "%{y} non-zero bases<extra></extra>",
    })

    layout = shared_layout(uirevision=uirevision, height=620)
    layout.update(stacked_axes([0.72, 0.28], y_titles=["N<sub>i,k</sub>(x)", "non-zero bases"]))
    layout["yaxis"]["range"] = [-0.08, 1.2]
    layout["yaxis2"].update(range=[-0.3, degree + 1.8], dtick=1)
    # The band marks where k + 1 bases overlap; the dotted line is that count.
    layout["shapes"] = _band(*table.domain, _DOMAIN_FILL, rows=2) + [{
        "type": "line", "xref": "x domain", "yref": "y2", "x0": 0, "x1": 1,
        "y0": degree + 1, "y1": degree + 1, "line": {"color": _MUTED, "dash": "dot"},
    }]
    layout["annotations"] = [{
        "xref": "x domain", "yref": "y2", "x": 0.0, "y": degree + 1, "xanchor": "left",
        "yanchor": "bottom", "showarrow": False, "text": f"k + 1 = {degree + 1}",
    }]
    return assemble_figure(traces, layout)


def spline_figure(
    curve: SplineCurve,
    degree: int,
    *,
    highlight: int | None = None,
    knots: Sequence[float] | None = None,
    domain: tuple[float, float] | None = None,
    uirevision: str = "bs-spline",
) -> go.Figure:
    """Draw a spline with its control polygon, and its derivative below.

    Parameters
    ----------
    curve : kan_core.spline_tables.SplineCurve
    degree : int
    highlight : int, optional
        Index of the coefficient the reader moved last. Its support [t_i, t_{i+k+1}], the
        only part of the curve that coefficient changes, is shaded.
    knots : sequence of float, optional
        Drawn as markers below the curve.
    domain : pair of float, optional
        Grid interval, shaded lightly: a KAN edge uses its spline only there.
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows sharing x: the curve (legend group "curve"), the control polygon ("control")
        and knots in row 1, the derivative ("derivative") in row 2.
    """
    n_basis = len(curve.coefficients)
    is_highlighted = highlight is not None and 0 <= highlight < n_basis
    traces = [{
        "type": "scatter", "x": curve.greville, "y": curve.coefficients,
        "mode": "lines+markers+text",
        "line": {"color": _MUTED, "dash": "dot", "width": 1.5},
        "marker": {"size": 12, "color": _MUTED, "line": {"color": "white", "width": 1}},
        "text": [f"c{index}" for index in range(n_basis)],
        "textposition": "top center", "textfont": {"color": _MUTED},
        "name": "control points (ξ<sub>i</sub>, c<sub>i</sub>)", "legendgroup": "control",
        "hovertemplate": "ξ = %{x:.3f}, c = %{y:.2f}<extra></extra>",
    }]
    if is_highlighted:
        traces.append({
            "type": "scatter", "x": [curve.greville[highlight]],
            "y": [curve.coefficients[highlight]], "mode": "markers",
            "marker": {"size": 17, "color": ACCENT},
            "name": f"c{highlight} (moved last)", "legendgroup": "control", "hoverinfo": "skip",
        })
    traces.append({
        "type": "scatter", "x": curve.x, "y": curve.y, "mode": "lines",
        "line": {"color": SPLINE_COLOR, "width": 3.5},
        "name": "spline Σ c<sub>i</sub> N<sub>i,k</sub>(x)", "legendgroup": "curve",
        "hovertemplate": "s(%{x:.3f}) = %{y:.3f}<extra></extra>",
    })
    # The y axis spans at least [-1, 1], so small moves are seen at their true size, with
    # room below for the knot markers and above for the control-point labels.
    low = min(float(np.min(curve.y)), float(np.min(curve.coefficients)), -1.0)
    high = max(float(np.max(curve.y)), float(np.max(curve.coefficients)), 1.0)
    pad = 0.08 * (high - low)
    if knots is not None:
        traces.append(_knot_trace(np.asarray(knots), y=low - pad))
    traces.append({
        "type": "scatter", "x": curve.x, "y": curve.derivative, "xaxis": "x2", "yaxis": "y2",
        "mode": "lines", "line": {"color": ACCENT, "width": 2.5},
        "name": "derivative s'(x)", "legendgroup": "derivative",
        "hovertemplate": "s'(%{x:.3f}) = %{y:.3f}<extra></extra>",
    })

    layout = shared_layout(uirevision=uirevision, height=620)
    layout.update(stacked_axes([0.68, 0.32], y_titles=["s(x)", "s'(x)"]))
    layout["yaxis"]["range"] = [low - 2 * pad, high + 3 * pad]
    shapes, annotations = [], []
    if domain is not None:
        shapes += _band(domain[0], domain[1], _DOMAIN_FILL, rows=2)
    if is_highlighted:
        start, end = curve.supports[highlight]
        shapes += _band(start, end, _SUPPORT_FILL, rows=2)
        annotations.append({
            "x": (start + end) / 2, "xref": "x", "y": 1.0, "yref": "y domain",
            "yanchor": "top", "showarrow": False, "font": {"color": ACCENT},
            "bgcolor": "rgba(255, 255, 255, 0.8)",
            "text": f"support of N<sub>{highlight},{degree}</sub>: {degree + 1} intervals",
        })
    layout["shapes"] = shapes
    layout["annotations"] = annotations
    return assemble_figure(traces, layout)


def fit_figure(
    fit: TargetFit,
    *,
    target_label: str,
    knots: Sequence[float] | None = None,
    uirevision: str = "bs-fit",
) -> go.Figure:
    """Draw the samples, the noise-free target and the least-squares spline fit.

    Returns
    -------
    plotly.graph_objects.Figure
        Legend groups "train", "test", "target", "fit" and, with `knots`, "knots".
    """
    traces = [
        {
            "type": "scatter", "x": fit.train_x, "y": fit.train_y, "mode": "markers",
            "marker": {"size": 7, "color": _MUTED, "opacity": 0.7},
            "name": "train samples", "legendgroup": "train",
        },
        {
            "type": "scatter", "x": fit.test_x, "y": fit.test_y, "mode": "markers",
            "marker": {"size": 8, "color": "white", "line": {"color": _MUTED, "width": 1.5}},
            "name": "held-out samples", "legendgroup": "test",
        },
        {
            "type": "scatter", "x": fit.x, "y": fit.target_y, "mode": "lines",
            "line": {"color": INK, "width": 2.5, "dash": "dash"},
            "name": f"target {target_label}", "legendgroup": "target",
        },
        {
            "type": "scatter", "x": fit.x, "y": fit.fit_y, "mode": "lines",
            "line": {"color": ACCENT, "width": 3.5}, "opacity": 0.85,
            "name": "spline fit", "legendgroup": "fit",
        },
    ]
    if knots is not None:
        knots = np.asarray(knots)
        inside = knots[(knots >= fit.x[0]) & (knots <= fit.x[-1])]
        traces.append(_knot_trace(inside, y=float(np.min(fit.target_y))))

    layout = shared_layout(uirevision=uirevision, height=500)
    layout["xaxis"] = axis_style("x")
    layout["yaxis"] = axis_style("y")
    return assemble_figure(traces, layout)


def error_sweep_figure(sweep: ErrorSweep, *, uirevision: str = "bs-sweep") -> go.Figure:
    """Draw fit error against grid size on log-log axes, one line per degree.

    Each degree k gets its measured errors (legend group "rmse") and a dashed reference line
    of slope -(k + 1) in the same colour (legend group "reference").
    """
    traces = []
    for row, (degree, color) in enumerate(zip(sweep.degrees, sequence_colors(len(sweep.degrees)))):
        traces.append({
            "type": "scatter", "x": sweep.grid_sizes, "y": sweep.rmse[row],
            "mode": "lines+markers", "line": {"color": color, "width": 3}, "marker": {"size": 9},
            "name": f"k = {degree}", "legendgroup": "rmse",
            "hovertemplate": f"k = {degree}, G = %{{x}}: RMSE %{{y:.2e}}<extra></extra>",
        })
        traces.append({
            "type": "scatter", "x": sweep.grid_sizes, "y": sweep.reference[row], "mode": "lines",
            "line": {"color": color, "width": 1.5, "dash": "dash"},
            "name": f"slope −{degree + 1}", "legendgroup": "reference", "hoverinfo": "skip",
        })

    layout = shared_layout(uirevision=uirevision, height=560)
    layout["legend"] = {"orientation": "v", "x": 1.02, "y": 1.0, "yanchor": "top"}
    # Label the measured grid sizes only; Plotly's default log ticks crowd the axis.
    layout["xaxis"] = axis_style(
        "grid size G (intervals)", type="log",
        tickvals=sweep.grid_sizes, ticktext=[str(size) for size in sweep.grid_sizes],
    )
    layout["yaxis"] = axis_style("RMSE to the noise-free target", type="log", exponentformat="power")
    return assemble_figure(traces, layout)
