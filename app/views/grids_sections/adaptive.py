"""Adaptive-grid section: move a layer's grid to where its inputs lie, and compare the fits."""

from __future__ import annotations

import streamlit as st

from kan_core.adaptive_experiment import INPUT_LAYOUTS, LAYOUT_SPAN, run_adaptive_experiment
from kan_core.targets import Target
from ui import controls
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.grids import adaptive_grid_figure
from ui.target_picker import target_picker
from views.grids_sections.jobs import sentence

__all__ = ["adaptive_experiment", "adaptive_section"]

@st.cache_data(max_entries=64, show_spinner="Training both models…")
def adaptive_experiment(
    target_id: str, _target: Target, layout: str, grid_size: int, grid_eps: float, seed: int
) -> dict:
    """Run `run_adaptive_experiment`, cached on `target_id`.

    The leading underscore keeps the unhashable `_target` out of ``st.cache_data``'s key.
    """
    return run_adaptive_experiment(_target, layout, grid_size, grid_eps, seed)


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
