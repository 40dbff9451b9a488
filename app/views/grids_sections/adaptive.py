"""Adaptive-grid section: move a layer's grid to where its inputs lie, and compare the fits."""

from __future__ import annotations

import copy

import streamlit as st
import torch

from kan_core.grids import count_outside_grid, update_grid_from_samples
from kan_core.model import KAN
from kan_core.targets import Dataset, Target, make_dataset
from kan_core.training import Trainer
from ui import controls
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.grids import adaptive_grid_figure
from ui.target_picker import target_picker
from views.grids_sections.jobs import sentence

__all__ = ["INPUT_LAYOUTS", "adaptive_experiment", "adaptive_section"]

GRID_RANGE = (-1.0, 1.0)
SAMPLES_PER_LAYOUT = 400
LBFGS_STEPS = 8
PLOT_POINTS = 400

INPUT_LAYOUTS = {
    "drifted": {
        "label": "Drifted: shifted past the right end of the grid",
        "ranges": [(-0.3, 1.9)],
    },
    "clustered": {
        "label": "Clustered: two narrow bands",
        "ranges": [(-0.8, -0.6), (0.25, 0.45)],
    },
    "uniform": {
        "label": "Uniform over the grid",
        "ranges": [GRID_RANGE],
    },
}
"""Training-input layouts: one or more intervals, each with the same sample count."""

LAYOUT_SPAN = (
    min(low for layout in INPUT_LAYOUTS.values() for low, _ in layout["ranges"]),
    max(high for layout in INPUT_LAYOUTS.values() for _, high in layout["ranges"]),
)


def _layout_dataset(target: Target, layout: str, seed: int) -> Dataset:
    parts = [
        make_dataset(target, SAMPLES_PER_LAYOUT, seed=seed + index, dtype=torch.float64, ranges=[band])
        for index, band in enumerate(INPUT_LAYOUTS[layout]["ranges"])
    ]
    return Dataset(*(torch.cat([getattr(part, name) for part in parts]) for name in (
        "train_input", "train_label", "test_input", "test_label"
    )))


def _test_rmse(trainer: Trainer) -> float:
    return trainer.evaluate()["test_loss"] ** 0.5


@st.cache_data(max_entries=64, show_spinner="Training both models…")
def adaptive_experiment(
    target_id: str, _target: Target, layout: str, grid_size: int, grid_eps: float, seed: int
) -> dict:
    """Train a [1, 1] KAN, then continue with its grid kept and, on a copy, updated to the inputs.

    Both models train `LBFGS_STEPS` L-BFGS steps on the uniform grid first, so the update
    starts from a learned function, then `LBFGS_STEPS` more each.

    Returns
    -------
    dict
        Lists for the figure (``inputs``, ``grid_before``, ``grid_after``, ``x_plot``,
        ``target``, ``fit_fixed``, ``fit_adaptive``) and numbers (``rmse_fixed``,
        ``rmse_adaptive``, ``outside_before``, ``outside_after``, ``n_inputs``).

    Notes
    -----
    ``st.cache_data`` keys the result on `target_id`; the leading underscore keeps the
    unhashable `_target` out of the key.
    """
    data = _layout_dataset(_target, layout, seed)
    fixed = KAN([1, 1], grid_size=grid_size, grid_range=GRID_RANGE, dtype=torch.float64, seed=seed)
    Trainer(fixed, data, optimizer="lbfgs", seed=seed, record_every=0).step(LBFGS_STEPS)

    adapted = copy.deepcopy(fixed)
    grid_before = adapted.layers[0].grid[0].tolist()
    outside_before = int(count_outside_grid(adapted.layers[0], data.train_input)[0])
    update_grid_from_samples(adapted, data.train_input, grid_eps=grid_eps)
    grid_after = adapted.layers[0].grid[0].tolist()
    outside_after = int(count_outside_grid(adapted.layers[0], data.train_input)[0])

    fixed_trainer = Trainer(fixed, data, optimizer="lbfgs", seed=seed, record_every=0)
    adapted_trainer = Trainer(adapted, data, optimizer="lbfgs", seed=seed, record_every=0)
    fixed_trainer.step(LBFGS_STEPS)
    adapted_trainer.step(LBFGS_STEPS)

    low = min(GRID_RANGE[0], INPUT_LAYOUTS[layout]["ranges"][0][0])
    high = max(GRID_RANGE[1], INPUT_LAYOUTS[layout]["ranges"][-1][1])
    x_plot = torch.linspace(low, high, PLOT_POINTS, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fit_fixed = fixed(x_plot)[:, 0].tolist()
        fit_adaptive = adapted(x_plot)[:, 0].tolist()
    return {
        "inputs": data.train_input[:, 0].tolist(),
        "grid_before": grid_before,
        "grid_after": grid_after,
        "x_plot": x_plot[:, 0].tolist(),
        "target": _target(x_plot)[:, 0].tolist(),
        "fit_fixed": fit_fixed,
        "fit_adaptive": fit_adaptive,
        "rmse_fixed": _test_rmse(fixed_trainer),
        "rmse_adaptive": _test_rmse(adapted_trainer),
        "outside_before": outside_before,
        "outside_after": outside_after,
        "n_inputs": data.train_input.shape[0],
    }


def adaptive_section() -> None:
    """Draw the adaptive-grid controls, the knots before and after an update, and both fits."""
    st.markdown(
        """
A spline only has detail where its grid has intervals. When a layer's inputs **cluster**,
most intervals of a uniform grid see no data; when they **drift** past the grid's ends,
the spline runs on its few extension bases there. A **grid update** moves the grid points
to quantiles of the inputs and refits the coefficients, so the learned function carries
over. **grid_eps** blends the quantiles with a uniform grid over the inputs' range
(0: pure quantiles, 1: uniform). Below, one model keeps its uniform grid on [-1, 1]; a copy gets
the update. Both then train the same number of steps.
"""
    )
    layout_column, target_column = st.columns([3, 2])
    with layout_column:
        layout = st.radio(
            "Training inputs", list(INPUT_LAYOUTS), format_func=lambda key: INPUT_LAYOUTS[key]["label"],
            key="gr_ad_inputs", bind=controls.BIND, horizontal=True,
            help="Where the samples the layer trains on lie, relative to its grid on [-1, 1].",
        )
    with target_column:
        # Every layout samples inside LAYOUT_SPAN, so a typed formula must be defined there.
        choice = target_picker("gr_ad", 1, allow_upload=False, formula_range=LAYOUT_SPAN)
    eps_column, size_column, seed_column = st.columns([3, 3, 1])
    with eps_column:
        grid_eps = st.slider(
            "grid_eps", min_value=0.0, max_value=1.0, value=0.02, step=0.01, key="gr_ad_eps",
            bind=controls.BIND,
            help="Blend weight of the uniform grid: 0 puts grid points at input quantiles, 1 spaces them evenly.",
        )
    with size_column:
        grid_size = controls.grid_size_slider("gr_ad_grid", value=10, max_value=40)
    with seed_column:
        seed = controls.seed_input("gr_ad_seed")

    try:
        result = adaptive_experiment(choice.identity, choice.target, layout, grid_size, grid_eps, seed)
    except ValueError as err:
        st.error(f"The experiment failed: {sentence(err)} Try another target or input layout.")
        return

    fixed_column, adaptive_column, outside_column = st.columns(3)
    fixed_column.metric("Test RMSE, grid kept", f"{result['rmse_fixed']:.2e}")
    adaptive_column.metric("Test RMSE, grid updated", f"{result['rmse_adaptive']:.2e}")
    outside_column.metric(
        "Inputs outside the grid", f"{result['outside_before']} → {result['outside_after']}",
        help=f"Out of {result['n_inputs']} training inputs, before and after the update.",
    )
    fig = adaptive_grid_figure(
        result["inputs"], result["grid_before"], result["grid_after"], result["x_plot"],
        result["target"], result["fit_fixed"], result["fit_adaptive"], grid_eps=grid_eps,
    )
    st.plotly_chart(fig, key="gr_ad_chart", config=PLOTLY_CONFIG, width="stretch")
    if layout == "clustered":
        st.caption(
            "With clustered inputs, pure quantiles (grid_eps near 0) crowd the grid points "
            "inside the bands and leave one wide interval across the gap. For smooth targets "
            "that often fits worse than a uniform grid over the inputs' range (grid_eps = 1): "
            "compare both values of the slider."
        )
