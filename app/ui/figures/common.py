"""Layout shared by every KAN Explorer figure: projector-sized fonts, titles and colours.

Two ways to build a figure with the shared look, and both keep the reader's zoom across
reruns (``uirevision``):

- `style_figure`: build a ``go.Figure`` as usual (``make_subplots``, ``add_trace``) and
  style it at the end. Simple, but Plotly validates every property on the way, which
  costs tens of milliseconds per chart.
- `assemble_figure`: pass trace dicts and a layout from `shared_layout` and `stacked_axes`,
  and the figure is built in one step without validation, in about a millisecond. Use it
  for charts that redraw on every slider move, and build the figure once with validation
  in a test (``go.Figure(fig.to_plotly_json())``) so that a misspelt property fails there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "assemble_figure",
    "axis_style",
    "shared_layout",
    "stacked_axes",
    "AXIS_FONT_SIZE",
    "FONT_SIZE",
    "INK",
    "TICK_FONT_SIZE",
    "PLOTLY_CONFIG",
    "ACCENT",
    "sequence_colors",
    "set_axis_titles",
    "style_figure",
]

# Sizes in CSS pixels, chosen to stay legible from the back of a lecture room.
FONT_SIZE = 17
AXIS_FONT_SIZE = 18
TICK_FONT_SIZE = 15

INK = "#212529"
"""Colour of sums, targets and other reference curves."""

ACCENT = "#e8590c"
"""Colour of the element the reader is changing (a highlighted basis, a fit)."""

PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
"""Config for ``st.plotly_chart(fig, config=PLOTLY_CONFIG)``: PNG export at twice the size."""


def sequence_colors(count: int) -> list[str]:
    """Return `count` distinct colours that run through the spectrum in order.

    Neighbouring basis functions get neighbouring hues, so a reader can follow the index.
    """
    if count <= 0:
        return []
    if count == 1:
        return plotly.colors.sample_colorscale("Turbo", [0.15])
    # Turbo's ends are nearly black and dark red, so sample its middle 85 %.
    positions = [0.08 + 0.84 * index / (count - 1) for index in range(count)]
    return plotly.colors.sample_colorscale("Turbo", positions)


def set_axis_titles(
    fig: go.Figure,
    x_title: str,
    y_title: str,
    *,
    row: int | None = None,
    col: int | None = None,
) -> go.Figure:
    """Title the x and y axes of one subplot, or of the whole figure when row is None."""
    fig.update_xaxes(title_text=x_title, row=row, col=col)
    fig.update_yaxes(title_text=y_title, row=row, col=col)
    return fig


def style_figure(
    fig: go.Figure,
    *,
    uirevision: str,
    height: int = 520,
    legend_title: str | None = None,
) -> go.Figure:
    """Apply the shared layout and return `fig`.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    uirevision : str
        Plotly keeps zoom, pan and hidden legend entries while this string stays the same.
        Use one value per chart, and change it only when old zoom would mislead, for
        example when the x range changes.
    height : int
        Figure height in CSS pixels.
    legend_title : str, optional
    """
    legend = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0.0}
    if legend_title:
        legend["title"] = {"text": legend_title}

    fig.update_layout(
        template="plotly_white",
        height=height,
        uirevision=uirevision,
        font={"size": FONT_SIZE, "color": INK},
        margin={"l": 70, "r": 20, "t": 60, "b": 60},
        legend=legend,
        hoverlabel={"font": {"size": FONT_SIZE}},
    )
    axis_style = {
        "title_font": {"size": AXIS_FONT_SIZE},
        "tickfont": {"size": TICK_FONT_SIZE},
        "zeroline": False,
    }
    fig.update_xaxes(**axis_style)
    fig.update_yaxes(**axis_style)
    # Subplot titles are annotations placed in paper coordinates; labels that builders pin
    # to data coordinates keep their own size.
    fig.update_annotations(selector={"xref": "paper"}, font={"size": AXIS_FONT_SIZE})
    return fig


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    # Expanding the named template is the slowest part of styling, so it happens once.
    return pio.templates["plotly_white"].to_plotly_json()


def shared_layout(*, uirevision: str, height: int = 520, legend_title: str | None = None) -> dict:
    """Return the layout dict that `style_figure` applies, for `assemble_figure`.

    Add axes (see `stacked_axes`), shapes and annotations to the returned dict. Each call
    returns a new dict, but all of them share one template dict, so replace nested values
    instead of changing them in place.
    """
    legend = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0.0}
    if legend_title:
        legend["title"] = {"text": legend_title}
    return {
        "template": _template(),
        "height": height,
        "uirevision": uirevision,
        "font": {"size": FONT_SIZE, "color": INK},
        "margin": {"l": 70, "r": 20, "t": 60, "b": 60},
        "legend": legend,
        "hoverlabel": {"font": {"size": FONT_SIZE}},
    }


def axis_style(title: str = "", **settings) -> dict:
    """Return one axis's settings with the shared title and tick fonts; `settings` win."""
    return {
        "title": {"text": title, "font": {"size": AXIS_FONT_SIZE}},
        "tickfont": {"size": TICK_FONT_SIZE},
        "zeroline": False,
        **settings,
    }


def stacked_axes(
    row_heights: Sequence[float],
    *,
    x_title: str = "x",
    y_titles: Sequence[str] = (),
    gap: float = 0.06,
) -> dict:
    """Return axis dicts for subplots stacked top to bottom that share one x axis.

    Row 1 (the top) uses axes ``x``/``y``, row 2 ``x2``/``y2`` and so on, as
    ``make_subplots(rows=n, cols=1, shared_xaxes=True)`` would name them. Only the bottom
    row shows x tick labels and `x_title`. Heights are relative and need not sum to 1.
    """
    total = float(sum(row_heights))
    usable = 1.0 - gap * (len(row_heights) - 1)
    axes = {}
    top = 1.0
    for row, height in enumerate(row_heights, start=1):
        bottom = max(top - usable * height / total, 0.0)
        suffix = "" if row == 1 else str(row)
        is_last = row == len(row_heights)
        title = y_titles[row - 1] if row - 1 < len(y_titles) else ""
        axes[f"xaxis{suffix}"] = axis_style(
            x_title if is_last else "",
            anchor=f"y{suffix}",
            domain=[0.0, 1.0],
            showticklabels=is_last,
            **({} if row == 1 else {"matches": "x"}),
        )
        axes[f"yaxis{suffix}"] = axis_style(title, anchor=f"x{suffix}", domain=[bottom, top])
        top = bottom - gap
    return axes


def assemble_figure(traces: list[dict], layout: dict) -> go.Figure:
    """Build a figure from trace dicts and a layout dict in one step, without validation.

    NOTE: this passes Plotly's private ``_validate=False`` (plotly 7.1), which skips the
    per-property checks that make `style_figure` slow. Misspelt properties are then silently
    sent to the browser, so test each builder's output with validation on.
    """
    return go.Figure(data=traces, layout=layout, _validate=False)
