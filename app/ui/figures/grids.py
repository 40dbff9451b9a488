"""Figures of the Grids page: refinements, adaptive grids, continual learning, scaling.

Builders take plain arrays and lists from ``kan_core`` results and only place them. The loss
curve of a refinement schedule comes from `ui.figures.training.loss_figure`. Traces carry a
``legendgroup`` naming their role ("before", "knots after", "kan", "test", ...), which tests
use to find them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.figures.common import ACCENT, INK, set_axis_titles, style_figure

__all__ = [
    "adaptive_grid_figure",
    "continual_figure",
    "refinement_activation_figure",
    "scaling_figure",
]

KAN_COLOR = "#1c7ed6"
MLP_COLOR = ACCENT
TEST_COLOR = "#2f9e44"
_MUTED = "#868e96"
_PHASE_FILL = "rgba(28, 126, 214, 0.16)"


def _log_ticks(values: Sequence[float]) -> dict:
    # Plotly labels a log axis that spans less than a decade with bare digits (2, 3, ... 9),
    # which read as wrong numbers on a projector. Label 1, 2 and 5 of every decade instead.
    finite = [value for value in values if value is not None and np.isfinite(value) and value > 0]
    if not finite:
        return {}
    low = int(np.floor(np.log10(min(finite))))
    high = int(np.ceil(np.log10(max(finite))))
    ticks = [mantissa * 10.0**exponent for exponent in range(low, high + 1) for mantissa in (1, 2, 5)]
    return {"tickvals": ticks, "ticktext": [f"{tick:g}" for tick in ticks]}


def _legend_above_subplot_titles(fig: go.Figure) -> go.Figure:
    # The shared layout puts the legend just above the plot area, where subplot titles sit
    # too. Pinning it to the top of the figure and widening the margin keeps both readable.
    fig.update_layout(
        legend={"yref": "container", "y": 0.985, "yanchor": "top"},
        margin={"t": 105},
    )
    return fig


def refinement_activation_figure(
    snapshots: Sequence[dict],
    *,
    edge_label: str,
    uirevision: str = "gr-capacity-activations",
) -> go.Figure:
    """Overlay one edge activation just before and just after each refinement.

    Parameters
    ----------
    snapshots : sequence of dict
        One per refinement, with ``x`` (points,), ``before`` and ``after`` (points,) activation
        values, ``grid_after`` (new grid points), ``max_change`` (largest |after - before|)
        and ``from_size``, ``to_size``, ``step``.
    edge_label : str
        Names the edge in the y-axis title, such as "layer 1, x1 → node 1".
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        One column per refinement (at most 5 per row); legend groups "before", "after" and
        "knots after".
    """
    count = max(1, len(snapshots))
    cols = min(count, 5)
    rows = (count + cols - 1) // cols
    titles = [
        f"step {shot['step']}: G {shot['from_size']} → {shot['to_size']}<br>max |Δφ| {shot['max_change']:.0e}"
        for shot in snapshots
    ]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles or None,
                        horizontal_spacing=0.05, vertical_spacing=0.22)
    for index, shot in enumerate(snapshots):
        row, col = index // cols + 1, index % cols + 1
        first = index == 0
        fig.add_trace(
            go.Scatter(x=shot["x"], y=shot["before"], mode="lines", name="before refinement",
                       legendgroup="before", showlegend=first,
                       line={"color": KAN_COLOR, "width": 6}, opacity=0.45),
            row=row, col=col,
        )
        fig.add_trace(
            go.Scatter(x=shot["x"], y=shot["after"], mode="lines", name="after refinement",
                       legendgroup="after", showlegend=first,
                       line={"color": INK, "width": 2, "dash": "dash"}),
            row=row, col=col,
        )
        low = float(np.min(shot["after"]))
        fig.add_trace(
            go.Scatter(x=shot["grid_after"], y=[low] * len(shot["grid_after"]), mode="markers",
                       name="new grid points", legendgroup="knots after", showlegend=first,
                       marker={"symbol": "triangle-up", "size": 9, "color": ACCENT},
                       hovertemplate="grid point %{x:.3g}<extra></extra>"),
            row=row, col=col,
        )
        fig.update_xaxes(title_text="x (input units)", row=row, col=col)
    fig.update_yaxes(title_text=f"φ(x), {edge_label}", row=1, col=1)
    style_figure(fig, uirevision=uirevision, height=330 * rows + 120)
    return _legend_above_subplot_titles(fig)


def adaptive_grid_figure(
    inputs: Sequence[float],
    grid_before: Sequence[float],
    grid_after: Sequence[float],
    x_plot: Sequence[float],
    target: Sequence[float],
    fit_fixed: Sequence[float],
    fit_adaptive: Sequence[float],
    *,
    grid_eps: float,
    uirevision: str = "gr-adaptive",
) -> go.Figure:
    """Draw a layer's inputs as a histogram, its grid before and after an update, and both fits.

    Parameters
    ----------
    inputs : sequence of float
        The layer's training inputs.
    grid_before, grid_after : sequence of float
        Grid points before the update and after it.
    x_plot, target, fit_fixed, fit_adaptive : sequence of float
        Plot points, the target there, and the predictions of the model that kept its grid
        and of the model whose grid was updated.
    grid_eps : float
        Shown in the knot row's label.
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        Three rows sharing x: histogram ("inputs"), grid points ("knots before",
        "knots after"), and fits ("target", "fixed grid", "updated grid").
    """
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, row_heights=[0.3, 0.16, 0.54], vertical_spacing=0.06,
        subplot_titles=("Inputs the layer receives", "Grid points", "Fit after the same training"),
    )
    fig.add_trace(
        go.Histogram(x=list(inputs), nbinsx=60, name="training inputs", legendgroup="inputs",
                     marker={"color": "#adb5bd"}, hovertemplate="%{y} inputs<extra></extra>"),
        row=1, col=1,
    )

    rows_of_knots = [
        (grid_before, 1.0, "grid before update", "knots before", KAN_COLOR),
        (grid_after, 0.0, f"grid after update (grid_eps = {grid_eps:g})", "knots after", ACCENT),
    ]
    for grid, y, name, group, color in rows_of_knots:
        fig.add_trace(
            go.Scatter(x=list(grid), y=[y] * len(grid), mode="markers", name=name, legendgroup=group,
                       marker={"symbol": "line-ns-open", "size": 22, "color": color, "line": {"width": 3, "color": color}},
                       hovertemplate="grid point %{x:.3g}<extra></extra>"),
            row=2, col=1,
        )
    fig.update_yaxes(range=[-0.6, 1.6], tickvals=[0, 1], ticktext=["after", "before"], row=2, col=1)

    fits = [
        (target, "target", "target", {"color": INK, "width": 2, "dash": "dot"}),
        (fit_fixed, "KAN, grid kept", "fixed grid", {"color": KAN_COLOR, "width": 3}),
        (fit_adaptive, "KAN, grid updated", "updated grid", {"color": ACCENT, "width": 3}),
    ]
    for values, name, group, line in fits:
        fig.add_trace(
            go.Scatter(x=list(x_plot), y=list(values), mode="lines", name=name, legendgroup=group,
                       line=line),
            row=3, col=1,
        )

    fig.update_xaxes(title_text="x (input units)", row=3, col=1)
    fig.update_yaxes(title_text="count", row=1, col=1)
    fig.update_yaxes(title_text="y", row=3, col=1)
    style_figure(fig, uirevision=uirevision, height=740)
    return _legend_above_subplot_titles(fig)


def continual_figure(
    x_plot: Sequence[float],
    target: Sequence[float],
    phases: Sequence[tuple[float, float]],
    kan_predictions: Sequence[Sequence[float]],
    mlp_predictions: Sequence[Sequence[float]],
    *,
    uirevision: str = "gr-continual",
) -> go.Figure:
    """Draw the KAN (left) and the MLP (right) over the whole domain after each phase.

    Parameters
    ----------
    x_plot, target : sequence of float
        Plot points over the whole domain and the target there.
    phases : sequence of (lower, upper)
        Every phase interval of the task, in training order.
    kan_predictions, mlp_predictions : sequence of sequences of float
        One prediction per trained phase, on `x_plot`.
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        One row per trained phase. The interval trained in that phase is shaded. Legend
        groups "target", "kan" and "mlp".
    """
    rows = max(1, len(kan_predictions))
    titles = []
    for index in range(len(kan_predictions)):
        titles += [f"KAN after phase {index + 1}", f"MLP after phase {index + 1}"]
    fig = make_subplots(rows=rows, cols=2, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=titles or None, horizontal_spacing=0.04,
                        vertical_spacing=0.25 / rows)
    models = [(kan_predictions, "KAN", "kan", KAN_COLOR), (mlp_predictions, "MLP", "mlp", MLP_COLOR)]
    for index in range(len(kan_predictions)):
        row = index + 1
        lower, upper = phases[index]
        for col, (predictions, name, group, color) in enumerate(models, start=1):
            fig.add_trace(
                go.Scatter(x=list(x_plot), y=list(target), mode="lines", name="target",
                           legendgroup="target", showlegend=row == 1 and col == 1,
                           line={"color": _MUTED, "width": 2}),
                row=row, col=col,
            )
            fig.add_trace(
                go.Scatter(x=list(x_plot), y=list(predictions[index]), mode="lines", name=name,
                           legendgroup=group, showlegend=row == 1, line={"color": color, "width": 3}),
                row=row, col=col,
            )
            # Added after the traces: plotly skips shapes on subplots that are still empty.
            fig.add_vrect(x0=lower, x1=upper, fillcolor=_PHASE_FILL, line_width=0, layer="below",
                          row=row, col=col)
        fig.update_yaxes(title_text="y", row=row, col=1)
    fig.update_xaxes(title_text="x (input units)", row=rows, col=1)
    fig.update_xaxes(title_text="x (input units)", row=rows, col=2)
    fig.add_annotation(
        text="shaded: the interval trained in that phase", xref="paper", yref="paper",
        x=1.0, y=1.0, yanchor="bottom", xanchor="right", yshift=30, showarrow=False,
        font={"size": 14, "color": _MUTED},
    )
    style_figure(fig, uirevision=uirevision, height=200 * rows + 180)
    return _legend_above_subplot_titles(fig)


def scaling_figure(
    grid_sizes: Sequence[int],
    train_rmse: Sequence[float],
    test_rmse: Sequence[float],
    *,
    reference_exponent: float = 4.0,
    uirevision: str = "gr-scaling",
) -> go.Figure:
    """Draw train and test RMSE against grid size on log-log axes with a G^-exponent line.

    Parameters
    ----------
    grid_sizes, train_rmse, test_rmse : sequence
        One entry per finished grid.
    reference_exponent : float
        The reference line is C G^-exponent. It passes through the test RMSE of the middle
        grid, so it sits among the points and shows the slope, not a fitted constant.
    uirevision : str

    Returns
    -------
    plotly.graph_objects.Figure
        Legend groups "train", "test" and "reference".
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=list(grid_sizes), y=list(train_rmse), mode="lines+markers", name="train RMSE",
                   legendgroup="train", line={"color": KAN_COLOR, "width": 3}, marker={"size": 11}),
    )
    fig.add_trace(
        go.Scatter(x=list(grid_sizes), y=list(test_rmse), mode="lines+markers", name="test RMSE",
                   legendgroup="test", line={"color": TEST_COLOR, "width": 3, "dash": "dash"},
                   marker={"size": 11, "symbol": "square"}),
    )
    if len(grid_sizes) >= 2:
        # A straight line on log-log axes: only its two end points are needed.
        anchor = len(grid_sizes) // 2
        sizes = np.array([grid_sizes[0], grid_sizes[-1]], dtype=float)
        line = test_rmse[anchor] * (sizes / grid_sizes[anchor]) ** -reference_exponent
        fig.add_trace(
            go.Scatter(x=sizes, y=line, mode="lines", name=f"∝ G<sup>−{reference_exponent:g}</sup>",
                       legendgroup="reference", line={"color": _MUTED, "width": 2, "dash": "dot"}),
        )
    # Ticks at the trained grid sizes, and explicit ranges padded in decades, so even a
    # single point (a sweep stopped on its first grid) sits in a readable frame.
    errors = [value for value in [*train_rmse, *test_rmse] if value and np.isfinite(value)]
    if grid_sizes:
        fig.update_xaxes(
            tickvals=list(grid_sizes), ticktext=[str(size) for size in grid_sizes],
            range=[np.log10(min(grid_sizes)) - 0.1, np.log10(max(grid_sizes)) + 0.1],
        )
    if errors:
        fig.update_yaxes(range=[np.log10(min(errors)) - 0.3, np.log10(max(errors)) + 0.3])
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", **_log_ticks([*train_rmse, *test_rmse]))
    set_axis_titles(fig, "grid size G (intervals, log scale)", "RMSE (units of f, log scale)")
    return style_figure(fig, uirevision=uirevision, height=520)
