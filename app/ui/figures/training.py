"""Figures of training runs: loss curves, predictions, layer activations, ranges, gradients.

The loss and prediction builders take any number of models by name, so every page that
trains (Stacked splines, Grids, Symbolic) draws them the same way. Histories are the
``kan_core.training.Trainer.history`` dicts. Long histories are thinned to at most
``max_points`` records, so a chart stays light however long the run.

Traces carry a ``legendgroup`` naming their role ("loss", "target", "samples",
"prediction", "activation", "range", "gradient"), which tests use to find them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.figures.common import ACCENT, AXIS_FONT_SIZE, INK, sequence_colors, style_figure

__all__ = [
    "LayerCurve",
    "MODEL_COLORS",
    "grad_norm_figure",
    "history_ranges",
    "layers_figure",
    "loss_figure",
    "prediction_figure",
    "thin_indices",
]

MODEL_COLORS = ("#1c7ed6", ACCENT, "#2f9e44", "#ae3ec9")
"""Line colour of the first, second, ... model passed to a builder (KAN blue, MLP orange)."""

# Curves with fewer records than this also get markers, so a run's first records show.
_MARKERS_BELOW = 30
_GRID_FILL = "rgba(28, 126, 214, 0.10)"
_OUTSIDE = "#c92a2a"
_MUTED = "#868e96"


def thin_indices(count: int, max_points: int) -> np.ndarray:
    """Return at most `max_points` evenly spread indices into `count` records.

    The first and the last record are always kept, so the newest value is on the chart.
    """
    if count <= max_points:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(int))


def _line_mode(count: int) -> str:
    return "lines+markers" if count < _MARKERS_BELOW else "lines"


def _model_color(index: int) -> str:
    return MODEL_COLORS[index % len(MODEL_COLORS)]


@functools.lru_cache(maxsize=16)
def _styled_layout(height: int) -> dict:
    # The shared look of `style_figure` as a plain dict, with the template expanded.
    return style_figure(go.Figure(), uirevision="", height=height).layout.to_plotly_json()


@functools.lru_cache(maxsize=16)
def _subplot_skeleton(rows: int, cols: int, row_heights: tuple[float, ...], vertical_spacing: float,
                      horizontal_spacing: float) -> dict:
    # Axis domains and title positions of make_subplots, which costs tens of milliseconds.
    fig = make_subplots(
        rows=rows, cols=cols, row_heights=list(row_heights), vertical_spacing=vertical_spacing,
        horizontal_spacing=horizontal_spacing, subplot_titles=[" "] * (rows * cols),
    )
    return fig.layout.to_plotly_json()


def _assemble(
    traces: list[dict],
    *,
    uirevision: str,
    height: int,
    axes: Mapping[str, dict],
    **layout_items,
) -> go.Figure:
    """Build a figure from trace dicts and axis dicts in one step, styled like `style_figure`.

    NOTE: Plotly's private ``_validate=False`` skips property validation. Validation took
    25 to 90 ms per chart (plotly 7.1, 2-core machine at load average 8), which would slow
    every live tick. The tests rebuild each builder's figure with validation on, so a
    misspelt property fails there.
    """
    layout = dict(_styled_layout(height))
    axis_style = layout.pop("xaxis")
    layout.pop("yaxis")
    for name, settings in axes.items():
        title = {**axis_style.get("title", {}), **settings.get("title", {})}
        layout[name] = {**axis_style, **settings, "title": title}
    layout["uirevision"] = uirevision
    # Legend groups name roles for tests. The "normal" order keeps a horizontal legend on one row.
    layout["legend"] = {**layout["legend"], "traceorder": "normal"}
    layout.update(layout_items)
    return go.Figure(data=traces, layout=layout, _validate=False)


def _positive(values: Sequence[float]) -> np.ndarray:
    # A log axis cannot show 0, inf or nan. A gap is more honest than a clipped value.
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)


def loss_figure(
    histories: Mapping[str, Mapping[str, Sequence]],
    *,
    max_points: int = 300,
    events: Sequence[tuple[int, str]] = (),
    uirevision: str = "loss",
    height: int = 430,
) -> go.Figure:
    """Draw the train and test MSE of each model against the step, on a log axis.

    Parameters
    ----------
    histories : mapping of str to history dict
        Model name (shown in the legend) to a ``Trainer.history`` with ``step``,
        ``train_loss`` and ``test_loss`` lists of equal length.
    max_points : int
        Maximum number of records drawn per curve.
    events : sequence of (step, label)
        Vertical markers, such as the steps where a grid was refined.
    uirevision : str
    height : int

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces per model in legend group "loss": train (solid) and test (dashed), in
        the model's colour from `MODEL_COLORS`.
    """
    traces = []
    for index, (name, history) in enumerate(histories.items()):
        keep = thin_indices(len(history["step"]), max_points)
        steps = np.asarray(history["step"])[keep]
        color = _model_color(index)
        for split, dash in (("train", "solid"), ("test", "dash")):
            traces.append({
                "type": "scatter", "x": steps, "y": _positive(history[f"{split}_loss"])[keep],
                "mode": _line_mode(len(steps)), "line": {"color": color, "width": 3, "dash": dash},
                "name": f"{name} {split}", "legendgroup": "loss",
                "hovertemplate": f"{name} {split} MSE %{{y:.3g}} at step %{{x}}<extra></extra>",
            })

    shapes, annotations = [], []
    for step, label in events:
        shapes.append({
            "type": "line", "xref": "x", "yref": "y domain", "x0": step, "x1": step, "y0": 0,
            "y1": 1, "line": {"color": _MUTED, "dash": "dot"},
        })
        annotations.append({
            "xref": "x", "yref": "y domain", "x": step, "y": 1, "text": label,
            "showarrow": False, "xanchor": "left", "yanchor": "top",
        })

    axes = {
        "xaxis": {"title": {"text": "step"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "MSE (log scale)"}, "type": "log", "exponentformat": "power"},
    }
    return _assemble(
        traces, uirevision=uirevision, height=height, axes=axes, shapes=shapes,
        annotations=annotations,
    )


def prediction_figure(
    x: Sequence[float],
    target: Sequence[float] | None,
    predictions: Mapping[str, Sequence[float]],
    *,
    train: tuple[Sequence[float], Sequence[float]] | None = None,
    test: tuple[Sequence[float], Sequence[float]] | None = None,
    target_label: str = "target",
    x_title: str = "x",
    uirevision: str = "prediction",
    height: int = 430,
) -> go.Figure:
    """Draw a one-input target, its samples and each model's prediction.

    Parameters
    ----------
    x : sequence of float, shape (points,)
        Where the target and the predictions are evaluated, in increasing order.
    target : sequence of float, shape (points,), or None
        Noise-free target, or None when it is unknown (uploaded data).
    predictions : mapping of str to sequence of float, each shape (points,)
        Model name to its output at `x`, drawn in the colours of `MODEL_COLORS`.
    train, test : pair of sequences (inputs, labels), optional
        Training samples (filled dots) and held-out samples (open circles).
    target_label : str
        Legend name of the target, such as its formula.
    x_title : str
    uirevision : str
    height : int

    Returns
    -------
    plotly.graph_objects.Figure
        Legend groups "samples", "target" and "prediction".
    """
    traces = []
    for samples, name, symbol in ((train, "train samples", "circle"), (test, "test samples", "circle-open")):
        if samples is None:
            continue
        traces.append({
            "type": "scatter", "x": np.asarray(samples[0]).ravel(), "y": np.asarray(samples[1]).ravel(),
            "mode": "markers", "marker": {"symbol": symbol, "size": 7, "color": _MUTED, "opacity": 0.7},
            "name": name, "legendgroup": "samples",
            "hovertemplate": "(%{x:.3f}, %{y:.3f})<extra></extra>",
        })

    if target is not None:
        traces.append({
            "type": "scatter", "x": x, "y": target, "mode": "lines",
            "line": {"color": INK, "width": 3, "dash": "dot"},
            "name": target_label, "legendgroup": "target", "hoverinfo": "skip",
        })
    for index, (name, values) in enumerate(predictions.items()):
        traces.append({
            "type": "scatter", "x": x, "y": values, "mode": "lines",
            "line": {"color": _model_color(index), "width": 3.5},
            "name": name, "legendgroup": "prediction",
            "hovertemplate": f"{name}(%{{x:.3f}}) = %{{y:.3f}}<extra></extra>",
        })

    axes = {"xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": "y"}}}
    return _assemble(traces, uirevision=uirevision, height=height, axes=axes)


@dataclass(frozen=True)
class LayerCurve:
    """One edge activation sampled for plotting, with where its grid and its inputs lie.

    Attributes
    ----------
    x : array, shape (points,)
    total : array, shape (points,)
        phi(x), base and spline together.
    base : array, shape (points,), or None
        The residual base part alone, or None when the layer has no base.
    knots : array, shape (G + 1 + 2k,)
        Extended knot vector of the edge's input.
    grid_range : pair of float
        First and last grid point. The spline is zero outside the extended knots.
    input_range : pair of float
        Smallest and largest value the layer receives on the training inputs now.
    """

    x: np.ndarray
    total: np.ndarray
    base: np.ndarray | None
    knots: np.ndarray
    grid_range: tuple[float, float]
    input_range: tuple[float, float]

    @property
    def outside(self) -> bool:
        """True when some input lies outside the grid range."""
        return self.input_range[0] < self.grid_range[0] or self.input_range[1] > self.grid_range[1]


def history_ranges(history: Mapping[str, Sequence], layer: int, feature: int = 0) -> dict[str, np.ndarray]:
    """Collect one layer input's recorded range and grid ends as arrays.

    Parameters
    ----------
    history : Trainer.history of a KAN
        Its ``layer_ranges`` list holds, per record, one dict per layer with ``min``,
        ``max``, ``grid_min`` and ``grid_max`` lists (one entry per input feature).
    layer : int
        Layer index, 0-based.
    feature : int
        Input index within the layer.

    Returns
    -------
    dict of array, each shape (records,)
        ``step``, ``min``, ``max``, ``grid_min``, ``grid_max``. Records without that layer
        are skipped.
    """
    columns: dict[str, list[float]] = {"step": [], "min": [], "max": [], "grid_min": [], "grid_max": []}
    for step, ranges in zip(history["step"], history["layer_ranges"]):
        if layer >= len(ranges):
            continue
        columns["step"].append(step)
        for name in ("min", "max", "grid_min", "grid_max"):
            columns[name].append(ranges[layer][name][feature])
    return {name: np.asarray(values, dtype=float) for name, values in columns.items()}


def _layer_title(index: int, curve: LayerCurve) -> str:
    title = f"φ<sub>{index + 1}</sub>(x<sub>{index}</sub>)"
    if curve.outside:
        return f"{title} <span style='color:{_OUTSIDE}'>⚠ off grid</span>"
    return f"layer {index + 1}: {title}"


def _axis_suffix(row: int, column: int, n_columns: int) -> str:
    # make_subplots numbers axes row by row: "" for the first, then "2", "3", ...
    number = (row - 1) * n_columns + column
    return "" if number == 1 else str(number)


def layers_figure(
    curves: Sequence[LayerCurve],
    ranges: Sequence[Mapping[str, np.ndarray]],
    *,
    max_points: int = 200,
    uirevision: str = "layers",
    height: int = 600,
) -> go.Figure:
    """Draw each layer's activation (top row) and its input range over training (bottom row).

    Parameters
    ----------
    curves : sequence of LayerCurve, one per layer
    ranges : sequence of dict of array, one per layer
        `history_ranges` of that layer.
    max_points : int
        Maximum number of records drawn per range curve.
    uirevision : str
    height : int

    Returns
    -------
    plotly.graph_objects.Figure
        One column per layer. Top: the activation (legend group "activation"), its base part,
        its knots and the shaded grid range, and the current input range as a bar below the
        curve. Bottom: min and max of the layer's input against the grid ends (legend group
        "range"), with records outside the grid marked in red.

    Notes
    -----
    Traces, shapes and axis titles are collected as plain dicts and added in one call each.
    Built with ``add_trace(row=, col=)``, ``add_vrect`` and ``update_xaxes``, a six-layer
    figure took 0.7 to 1.5 s, too slow for a chart redrawn while training (measured with
    plotly 7.1 on the project's 2-core machine at load average 8).
    """
    n_layers = len(curves)
    skeleton = _subplot_skeleton(2, n_layers, (0.55, 0.45), 0.22, 0.1 / max(n_layers - 1, 1) + 0.03)
    # Six titles in a row must fit about 170 px each on a 1440 px wide page.
    title_size = AXIS_FONT_SIZE if n_layers <= 4 else AXIS_FONT_SIZE - 3
    titles = [_layer_title(index, curve) for index, curve in enumerate(curves)]
    titles += [f"x<sub>{index}</sub> over training" for index in range(n_layers)]
    annotations = [
        {**annotation, "text": title, "font": {"size": title_size}}
        for annotation, title in zip(skeleton["annotations"], titles)
    ]

    traces: list[dict] = []
    shapes: list[dict] = []
    axes: dict[str, dict] = {}
    for index, curve in enumerate(curves):
        column = index + 1
        first = index == 0
        top = _axis_suffix(1, column, n_layers)
        bottom = _axis_suffix(2, column, n_layers)
        traces += _activation_traces(curve, f"x{top}", f"y{top}", first)
        shapes.append({
            "type": "rect", "xref": f"x{top}", "yref": f"y{top} domain",
            "x0": curve.grid_range[0], "x1": curve.grid_range[1], "y0": 0, "y1": 1,
            "fillcolor": _GRID_FILL, "line": {"width": 0}, "layer": "below",
        })
        traces += _range_traces(ranges[index], f"x{bottom}", f"y{bottom}", first, max_points)
        axes[f"xaxis{top}"] = {"title": {"text": f"x<sub>{index}</sub>"}}
        axes[f"yaxis{top}"] = {"title": {"text": f"x<sub>{index + 1}</sub>" if first else ""}}
        axes[f"xaxis{bottom}"] = {"title": {"text": "step"}}
        axes[f"yaxis{bottom}"] = {"title": {"text": f"x<sub>{index}</sub>" if first else ""}}
    for name, axis in axes.items():
        axis.update(skeleton[name])

    return _assemble(
        traces, uirevision=uirevision, height=height, axes=axes, shapes=shapes,
        annotations=annotations,
        # The subplot titles take the space above the plots, so the legend goes higher.
        legend={**_styled_layout(height)["legend"], "traceorder": "normal", "y": 1.1},
        margin={**_styled_layout(height)["margin"], "t": 120},
    )


def _activation_traces(curve: LayerCurve, xaxis: str, yaxis: str, first: bool) -> list[dict]:
    axes = {"type": "scatter", "xaxis": xaxis, "yaxis": yaxis, "showlegend": first}
    traces = []
    if curve.base is not None:
        traces.append({
            **axes, "x": curve.x, "y": curve.base, "mode": "lines",
            "line": {"color": _MUTED, "width": 2, "dash": "dot"},
            "name": "residual base part", "legendgroup": "base", "hoverinfo": "skip",
        })
    traces.append({
        **axes, "x": curve.x, "y": curve.total, "mode": "lines",
        "line": {"color": MODEL_COLORS[0], "width": 3.5},
        "name": "activation φ (base + spline)", "legendgroup": "activation",
        "hovertemplate": "φ(%{x:.3f}) = %{y:.3f}<extra></extra>",
    })

    # Knots sit on the lower edge of the plot, the input range on a bar just above them.
    low, high = float(np.nanmin(curve.total)), float(np.nanmax(curve.total))
    pad = 0.12 * max(high - low, 1e-3)
    visible = curve.knots[(curve.knots >= curve.x[0]) & (curve.knots <= curve.x[-1])]
    traces.append({
        **axes, "x": visible, "y": np.full(visible.shape, low - 2 * pad), "mode": "markers",
        "marker": {"symbol": "triangle-up", "size": 10, "color": INK},
        "name": "knots", "legendgroup": "knots", "hovertemplate": "knot %{x:.3g}<extra></extra>",
    })
    color = _OUTSIDE if curve.outside else ACCENT
    traces.append({
        **axes, "x": list(curve.input_range), "y": [low - pad, low - pad], "mode": "lines+markers",
        "line": {"color": color, "width": 6}, "marker": {"size": 9, "color": color},
        "name": "inputs on the training set", "legendgroup": "inputs",
        "hovertemplate": "input %{x:.3f}<extra></extra>",
    })
    return traces


def _range_traces(
    ranges: Mapping[str, np.ndarray], xaxis: str, yaxis: str, first: bool, max_points: int
) -> list[dict]:
    keep = thin_indices(len(ranges["step"]), max_points)
    steps = ranges["step"][keep]
    low, high = ranges["min"][keep], ranges["max"][keep]
    grid_low, grid_high = ranges["grid_min"][keep], ranges["grid_max"][keep]
    axes = {"type": "scatter", "xaxis": xaxis, "yaxis": yaxis, "x": steps, "mode": _line_mode(len(steps))}

    traces = []
    for values, show in ((grid_low, first), (grid_high, False)):
        traces.append({
            **axes, "y": values, "line": {"color": MODEL_COLORS[0], "width": 2, "dash": "dash"},
            "name": "grid ends", "legendgroup": "grid", "showlegend": show,
            "hovertemplate": "grid end %{y:.3g}<extra></extra>",
        })
    for values, show in ((low, first), (high, False)):
        traces.append({
            **axes, "y": values, "line": {"color": ACCENT, "width": 3},
            "name": "input min and max", "legendgroup": "range", "showlegend": show,
            "hovertemplate": "input %{y:.3g} at step %{x}<extra></extra>",
        })

    below, above = low < grid_low, high > grid_high
    outside = below | above
    traces.append({
        **axes, "mode": "markers", "x": steps[outside], "y": np.where(below, low, high)[outside],
        "marker": {"symbol": "x", "size": 8, "color": _OUTSIDE},
        "name": "outside the grid", "legendgroup": "outside", "showlegend": first,
        "hovertemplate": "outside the grid at step %{x}<extra></extra>",
    })
    return traces


def grad_norm_figure(
    history: Mapping[str, Sequence],
    *,
    max_points: int = 300,
    uirevision: str = "gradients",
    height: int = 380,
) -> go.Figure:
    """Draw the gradient norm of each layer's parameters against the step, on a log axis.

    Parameters
    ----------
    history : Trainer.history
        ``step`` and ``grad_norms`` (per record, one norm per layer). The first record comes
        before any backward pass and has zero norms, which the log axis leaves out.
    max_points : int
    uirevision : str
    height : int

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per layer in legend group "gradient", coloured from input to output.
    """
    keep = thin_indices(len(history["step"]), max_points)
    steps = np.asarray(history["step"])[keep]
    n_layers = max((len(norms) for norms in history["grad_norms"]), default=0)
    norms = np.full((len(history["step"]), n_layers), np.nan)
    for row, values in enumerate(history["grad_norms"]):
        norms[row, : len(values)] = values

    traces = [
        {
            "type": "scatter", "x": steps, "y": _positive(norms[keep, layer]), "mode": _line_mode(len(steps)),
            "line": {"color": color, "width": 3}, "name": f"layer {layer + 1}",
            "legendgroup": "gradient",
            "hovertemplate": f"layer {layer + 1}: ‖∇‖ = %{{y:.3g}} at step %{{x}}<extra></extra>",
        }
        for layer, color in enumerate(sequence_colors(n_layers))
    ]
    axes = {
        "xaxis": {"title": {"text": "step"}},
        "yaxis": {"title": {"text": "gradient norm (log scale)"}, "type": "log", "exponentformat": "power"},
    }
    return _assemble(traces, uirevision=uirevision, height=height, axes=axes)
