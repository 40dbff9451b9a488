"""B-splines page: basis functions, knots, coefficients and least-squares fits of one spline.

The shared controls (degree, grid, extension, custom knots) sit above four tabs. Each tab
runs only while it is open, because bound tabs report which one is selected; the tabs
themselves are drawn by `ui.bspline_sections`.
"""

import streamlit as st

from kan_core.spline_tables import knot_vector
from kan_core.bspline import uniform_grid
from ui import controls
from ui.bspline_sections import (
    KNOTS_KEY,
    MAX_KNOTS,
    basis_section,
    check_grid,
    coefficients_section,
    fit_section,
    knots_section,
    sentence,
)
from ui.number_lists import list_text_input

SECTIONS = ["Basis functions", "Knots", "Coefficients", "Fit a target"]

st.title("B-splines")
st.markdown(
    "Every edge of a KAN carries a B-spline. Change the degree, the grid and the knots "
    "below, and watch the basis functions, a spline you shape by hand, and least-squares "
    "fits respond."
)

settings_box = st.container()
custom_knots = list_text_input(
    "Custom knots (grid points)",
    KNOTS_KEY,
    name="knots",
    max_count=MAX_KNOTS,
    validator=check_grid,
    placeholder="empty: a uniform grid from G and the range, or type e.g. -1, -0.2, 0, 0, 1",
    help="Comma-separated, non-decreasing grid points. The Knots tab edits them as a table.",
)
with settings_box:
    degree_column, size_column, range_column, extend_column = st.columns(
        [2, 2, 3, 1.3], vertical_alignment="center"
    )
    with degree_column:
        degree = controls.degree_slider("bs_degree")
    with size_column:
        grid_size = controls.grid_size_slider("bs_grid_size", disabled=custom_knots is not None)
    with range_column:
        grid_range = controls.grid_range_slider("bs_range", disabled=custom_knots is not None)
    with extend_column:
        extend = st.checkbox(
            "Grid extension", value=True, key="bs_extend", bind=controls.BIND,
            help="Add k knots beyond each end of the grid, so k + 1 bases overlap everywhere on it.",
        )

if custom_knots is None and grid_range[0] >= grid_range[1]:
    st.error(
        f"The grid range runs from {grid_range[0]:g} to {grid_range[1]:g}, so it is empty: "
        "it needs lower < upper. Drag the left handle of Grid range below the right one.",
        icon=":material/error:",
    )
    st.stop()

try:
    knots = knot_vector(
        degree, grid_size=grid_size, grid_range=grid_range, grid=custom_knots, extend=extend
    ).tolist()
    grid_points = custom_knots or uniform_grid(grid_size, grid_range)[0].tolist()
except ValueError as err:
    st.error(f"These settings define no spline: {sentence(err)}", icon=":material/error:")
    st.stop()

basis_tab, knots_tab, coefficients_tab, fit_tab = st.tabs(SECTIONS, key="bs_section", bind=controls.BIND)
if basis_tab.open:
    with basis_tab:
        basis_section(knots, degree, extend)
if knots_tab.open:
    with knots_tab:
        knots_section(grid_points, knots, degree, custom_knots is not None)
if coefficients_tab.open:
    with coefficients_tab:
        coefficients_section(knots, degree, grid_points)
if fit_tab.open:
    with fit_tab:
        fit_section(knots, degree, grid_points)
