"""Validate the B-splines figures, which the app builds without Plotly's validation."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from kan_core.approximation import fit_error_sweep, fit_target
from kan_core.spline_tables import basis_table, knot_vector, random_coefficients, spline_curve
from kan_core.targets import TARGETS
from ui.figures.bspline import basis_figure, error_sweep_figure, fit_figure, spline_figure

KNOTS = knot_vector(2, grid=[-1.0, -0.5, 0.0, 0.0, 1.0])
DEGREE = 2


def _figures() -> dict[str, go.Figure]:
    curve = spline_curve(KNOTS, DEGREE, random_coefficients(len(KNOTS) - DEGREE - 1, seed=1))
    fit = fit_target(TARGETS["abs_x"], KNOTS, DEGREE, sample_range=(-1.0, 1.0), n_samples=60)
    sweep = fit_error_sweep(TARGETS["abs_x"], grid_range=(-1.0, 1.0), grid_sizes=(2, 4, 8), n_samples=60)
    return {
        "basis": basis_figure(basis_table(KNOTS, DEGREE), DEGREE),
        "spline": spline_figure(curve, DEGREE, highlight=2, knots=KNOTS, domain=(-1.0, 1.0)),
        "fit": fit_figure(fit, target_label="|x|", knots=KNOTS),
        "sweep": error_sweep_figure(sweep),
    }


@pytest.mark.parametrize("name", ["basis", "spline", "fit", "sweep"])
def test_figure_passes_plotly_validation(name):
    figure = _figures()[name]

    # Building a Figure from the spec validates every property and raises on a typo.
    validated = go.Figure(figure.to_plotly_json())

    assert len(validated.data) == len(figure.data)
    assert validated.layout.uirevision == figure.layout.uirevision


def test_basis_figure_draws_repeated_knot_once():
    figure = _figures()["basis"]
    knots = next(trace for trace in figure.data if trace.legendgroup == "knots")

    # Grid -1, -0.5, 0, 0, 1 extended by 2 knots each side: 0 appears twice.
    assert list(knots.text).count("×2") == 1
    assert len(knots.x) == len(np.unique(KNOTS))
