"""Figures of the B-splines page: bases, a spline with its control points, fits, error sweeps.

Each builder takes a result object of `kan_core.approximation` and only places it. Traces
carry a ``legendgroup`` naming their role ("bases", "sum", "knots", ...), which tests use
to count them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kan_core.approximation import BasisTable, ErrorSweep, SplineCurve, TargetFit
from ui.figures.common import ACCENT, INK, sequence_colors, set_axis_titles, style_figure

__all__ = ["basis_figure", "error_sweep_figure", "fit_figure", "spline_figure"]

_DOMAIN_FILL = "rgba(59, 91, 219, 0.07)"
_SUPPORT_FILL = "rgba(232, 89, 12, 0.14)"
_MUTED = "#868e96"


def _knot_trace(knots: np.ndarray, *, y: float = 0.0, showlegend: bool = True) -> go.Scatter:
    # One marker per distinct knot, labelled with its multiplicity when a knot repeats.
    values, counts = np.unique(np.round(knots, 12), return_counts=True)
    labels = [f"×{count}" if count > 1 else "" for count in counts]
    return go.Scatter(
        x=values,
        y=np.full(values.shape, y),
        mode="markers+text",
        text=labels,
        textposition="top center",
        marker={"symbol": "triangle-up", "size": 13, "color": INK},
        name="knots",
        legendgroup="knots",
        showlegend=showlegend,
        hovertemplate="knot t = %{x:.4g}<extra></extra>",
    )


def basis_figure(table: BasisTable, degree: int, *, uirevision: str = "bs-basis") -> go.Figure:
    """Draw every basis N_{i,k}, their sum and the knots, and below, how many are non-zero.

    Parameters
    ----------
    table : kan_core.approximation.BasisTable
    degree : int
        Degree k, used in labels and for the reference line at k + 1 overlapping bases.
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows sharing x. Row 1 has one trace per basis (legend group "bases"), their sum
        and the knots; row 2 has the count of non-zero bases.
    """
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.72, 0.28],
        vertical_spacing=0.06,
    )

    n_basis = table.basis.shape[1]
    for index, color in enumerate(sequence_colors(n_basis)):
        fig.add_trace(
            go.Scatter(
                x=table.x,
                y=table.basis[:, index],
                mode="lines",
                line={"color": color, "width": 2.5},
                name=f"N{index},{degree}",
                legendgroup="bases",
                showlegend=index == 0,
                hovertemplate=f"N<sub>{index},{degree}</sub>(%{{x:.3f}}) = %{{y:.3f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    # The first basis trace stands for all of them in the legend.
    if n_basis:
        fig.data[0].name = f"bases N<sub>i,{degree}</sub> ({n_basis})"

    fig.add_trace(
        go.Scatter(
            x=table.x,
            y=table.total,
            mode="lines",
            line={"color": INK, "width": 3, "dash": "dash"},
            name="sum of all bases",
            legendgroup="sum",
            hovertemplate="sum = %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(_knot_trace(table.knots), row=1, col=1)

    fig.add_trace(
        go.Scatter(
            x=table.count_x,
            y=table.nonzero_count,
            mode="lines",
            line={"color": ACCENT, "width": 3, "shape": "hv"},
            name="non-zero bases at x",
            legendgroup="count",
            hovertemplate="%{y} non-zero bases<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.add_hline(
        y=degree + 1,
        line={"color": _MUTED, "dash": "dot"},
        annotation_text=f"k + 1 = {degree + 1}",
        annotation_position="top left",
        row=2,
        col=1,
    )

    # Shade the interval where k + 1 bases overlap, in both rows. Plotly adds shading with
    # row="all" only to subplots that already hold traces, so this comes last.
    fig.add_vrect(
        x0=table.domain[0], x1=table.domain[1], fillcolor=_DOMAIN_FILL, line_width=0,
        layer="below", row="all", col=1,
    )

    set_axis_titles(fig, "", "N<sub>i,k</sub>(x)", row=1, col=1)
    set_axis_titles(fig, "x", "non-zero bases", row=2, col=1)
    fig.update_yaxes(range=[-0.08, 1.2], row=1, col=1)
    fig.update_yaxes(range=[-0.3, degree + 1.8], dtick=1, row=2, col=1)
    return style_figure(fig, uirevision=uirevision, height=620)


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
    curve : kan_core.approximation.SplineCurve
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
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06
    )
    fig.add_trace(
        go.Scatter(
            x=curve.greville,
            y=curve.coefficients,
            mode="lines+markers+text",
            line={"color": _MUTED, "dash": "dot", "width": 1.5},
            marker={"size": 12, "color": _MUTED, "line": {"color": "white", "width": 1}},
            text=[f"c{index}" for index in range(len(curve.coefficients))],
            textposition="top center",
            textfont={"color": _MUTED},
            name="control points (ξ<sub>i</sub>, c<sub>i</sub>)",
            legendgroup="control",
            hovertemplate="ξ = %{x:.3f}, c = %{y:.2f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if highlight is not None and 0 <= highlight < len(curve.coefficients):
        fig.add_trace(
            go.Scatter(
                x=[curve.greville[highlight]],
                y=[curve.coefficients[highlight]],
                mode="markers",
                marker={"size": 17, "color": ACCENT},
                name=f"c{highlight} (moved last)",
                legendgroup="control",
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=curve.x,
            y=curve.y,
            mode="lines",
            line={"color": "#3b5bdb", "width": 3.5},
            name="spline Σ c<sub>i</sub> N<sub>i,k</sub>(x)",
            legendgroup="curve",
            hovertemplate="s(%{x:.3f}) = %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if knots is not None:
        # A row of knot markers just below everything else in the chart.
        low = min(float(np.min(curve.y)), float(np.min(curve.coefficients)))
        high = max(float(np.max(curve.y)), float(np.max(curve.coefficients)))
        knot_row = low - 0.08 * max(high - low, 1.0)
        fig.add_trace(_knot_trace(np.asarray(knots), y=knot_row), row=1, col=1)

    fig.add_trace(
        go.Scatter(
            x=curve.x,
            y=curve.derivative,
            mode="lines",
            line={"color": ACCENT, "width": 2.5},
            name="derivative s'(x)",
            legendgroup="derivative",
            hovertemplate="s'(%{x:.3f}) = %{y:.3f}<extra></extra>",
        ),
        row=2,
        col=1,
    )

    # Plotly adds shading with row="all" only to subplots that already hold traces.
    if domain is not None:
        fig.add_vrect(
            x0=domain[0], x1=domain[1], fillcolor=_DOMAIN_FILL, line_width=0, layer="below",
            row="all", col=1,
        )
    if highlight is not None and 0 <= highlight < len(curve.coefficients):
        start, end = curve.supports[highlight]
        fig.add_vrect(
            x0=start, x1=end, fillcolor=_SUPPORT_FILL, line_width=0, layer="below",
            row="all", col=1,
        )
        fig.add_annotation(
            x=(start + end) / 2, y=1.0, yref="y domain", showarrow=False,
            text=f"support of N<sub>{highlight},{degree}</sub>: {degree + 1} intervals",
            font={"color": ACCENT}, row=1, col=1,
        )

    set_axis_titles(fig, "", "s(x)", row=1, col=1)
    set_axis_titles(fig, "x", "s'(x)", row=2, col=1)
    return style_figure(fig, uirevision=uirevision, height=620)


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
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=fit.train_x, y=fit.train_y, mode="markers",
            marker={"size": 7, "color": _MUTED, "opacity": 0.7},
            name="train samples", legendgroup="train",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=fit.test_x, y=fit.test_y, mode="markers",
            marker={"size": 8, "color": "white", "line": {"color": _MUTED, "width": 1.5}},
            name="held-out samples", legendgroup="test",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=fit.x, y=fit.target_y, mode="lines",
            line={"color": INK, "width": 2.5, "dash": "dash"},
            name=f"target {target_label}", legendgroup="target",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=fit.x, y=fit.fit_y, mode="lines",
            line={"color": ACCENT, "width": 3.5},
            name="spline fit", legendgroup="fit",
        )
    )
    if knots is not None:
        knots = np.asarray(knots)
        inside = knots[(knots >= fit.x[0]) & (knots <= fit.x[-1])]
        fig.add_trace(_knot_trace(inside, y=float(np.min(fit.target_y))))

    set_axis_titles(fig, "x", "y")
    return style_figure(fig, uirevision=uirevision, height=500)


def error_sweep_figure(sweep: ErrorSweep, *, uirevision: str = "bs-sweep") -> go.Figure:
    """Draw fit error against grid size on log-log axes, one line per degree.

    Each degree k gets its measured errors (legend group "rmse") and a dashed reference line
    of slope -(k + 1) in the same colour (legend group "reference").
    """
    fig = go.Figure()
    colors = sequence_colors(len(sweep.degrees))
    for row, (degree, color) in enumerate(zip(sweep.degrees, colors)):
        fig.add_trace(
            go.Scatter(
                x=sweep.grid_sizes, y=sweep.rmse[row], mode="lines+markers",
                line={"color": color, "width": 3}, marker={"size": 9},
                name=f"k = {degree}", legendgroup="rmse",
                hovertemplate=f"k = {degree}, G = %{{x}}: RMSE %{{y:.2e}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=sweep.grid_sizes, y=sweep.reference[row], mode="lines",
                line={"color": color, "width": 1.5, "dash": "dash"},
                name=f"slope −{degree + 1}", legendgroup="reference",
                hoverinfo="skip",
            )
        )

    # Label the measured grid sizes only; Plotly's default log ticks crowd the axis.
    fig.update_xaxes(type="log", tickvals=sweep.grid_sizes, ticktext=[str(g) for g in sweep.grid_sizes])
    fig.update_yaxes(type="log", exponentformat="power")
    set_axis_titles(fig, "grid size G (intervals)", "RMSE to the noise-free target")
    style_figure(fig, uirevision=uirevision, height=560)
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "y": 1.0, "yanchor": "top"})
    return fig
