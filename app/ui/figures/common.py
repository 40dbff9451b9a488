"""Layout shared by every KAN Explorer figure: projector-sized fonts, titles and colours.

Every builder ends with `style_figure`, so all charts look alike and keep the reader's
zoom across reruns (``uirevision``).
"""

from __future__ import annotations

import plotly.colors
import plotly.graph_objects as go

__all__ = [
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
