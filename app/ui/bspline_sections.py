"""Tabs of the B-splines page: basis functions, knots, coefficients and fits.

Each ``*_section`` function draws one tab of ``app/views/bsplines.py`` from the knot vector
that the page's shared controls define: an explanation, the tab's own controls, one call
into ``kan_core.spline_tables`` or ``kan_core.approximation`` and a figure.
"""

import streamlit as st

from kan_core.approximation import fit_error_sweep, fit_target
from kan_core.bspline import validate_knots
from kan_core.spline_tables import basis_table, knot_multiplicities, random_coefficients, spline_curve
from kan_core.targets import Target
from ui import controls
from ui.figures.bspline import basis_figure, error_sweep_figure, fit_figure, spline_figure
from ui.figures.common import PLOTLY_CONFIG
from ui.number_lists import list_sliders, list_table_editor, list_text_input, moved_key, set_list
from ui.target_picker import target_picker

__all__ = [
    "KNOTS_KEY",
    "MAX_KNOTS",
    "basis_section",
    "check_grid",
    "coefficients_section",
    "fit_section",
    "knots_section",
    "sentence",
]

KNOTS_KEY = "bs_knots"
COEFFICIENTS_KEY = "bs_coefs"
MAX_KNOTS = 61
# G + k coefficients at the grid-size slider's maximum, with room for typed extras.
MAX_COEFFICIENTS = 260
# Up to this many coefficients get one slider each; more get a table.
MAX_SLIDERS = 16
COEFFICIENT_LIMIT = 3.0


def sentence(err: Exception) -> str:
    """Turn an engine error message into a sentence: capital first letter, final period."""
    text = str(err)
    return text[:1].upper() + text[1:].rstrip(".") + "."


def check_grid(values: list[float]) -> None:
    """Raise ValueError with a plain sentence unless `values` are valid grid points.

    Grid points must be finite, non-decreasing, and span an interval (last above first).
    """
    try:
        validate_knots(values)
    except ValueError as err:
        raise ValueError(sentence(err)) from err
    if values[-1] <= values[0]:
        raise ValueError(
            f"The last knot ({values[-1]:g}) must be greater than the first ({values[0]:g})."
        )


def _show(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, width="stretch")


def basis_section(knots, degree: int, extend: bool) -> None:
    """Draw the tab on basis functions, their sum and the Cox-de Boor recursion."""
    table = basis_table(knots, degree)
    n_basis = table.basis.shape[1]
    st.markdown(
        f"""
A spline of degree k is a sum of **basis functions** N<sub>i,k</sub>, one per coefficient.
Each basis is a piecewise polynomial of degree k that is non-negative, lives on only k + 1
intervals, and meets its neighbours with k − 1 continuous derivatives at simple knots.
Wherever k + 1 bases overlap (the shaded band) they add up to exactly one: the
**partition of unity**. These {len(knots)} knots carry **{n_basis} bases**.
""",
        unsafe_allow_html=True,
    )
    if not extend:
        st.info(
            "Grid extension is off, so near both ends of the grid fewer than k + 1 bases "
            "overlap and their sum drops below one (see the lower chart). Turn extension on "
            "to add k knots beyond each end, as KANs do.",
            icon=":material/info:",
        )
    _show(basis_figure(table, degree), key="bs_basis_chart")

    st.markdown("The **Cox-de Boor recursion** builds every basis from those of lower degree:")
    st.latex(
        r"N_{i,0}(x) = \begin{cases} 1 & t_i \le x < t_{i+1} \\ 0 & \text{otherwise} \end{cases}"
    )
    st.latex(
        r"N_{i,k}(x) = \frac{x - t_i}{t_{i+k} - t_i}\, N_{i,k-1}(x)"
        r" + \frac{t_{i+k+1} - x}{t_{i+k+1} - t_{i+1}}\, N_{i+1,k-1}(x)"
    )
    st.caption(
        "A fraction whose denominator is zero (repeated knots) counts as 0. The right end "
        "of the domain belongs to the last interval, so the curve does not drop to zero there."
    )


def _reset_to_uniform() -> None:
    set_list(KNOTS_KEY, None)


def knots_section(grid_points, knots, degree: int, custom: bool) -> None:
    """Draw the tab that edits the grid points as a table, beside the bases they give."""
    st.markdown(
        """
The **knots** t<sub>0</sub> ≤ t<sub>1</sub> ≤ … decide where the polynomial pieces meet.
Edit the grid points in the table: move them closer where the function should bend sharply.
A knot repeated m times lowers the smoothness there from k − 1 to k − m continuous
derivatives, and k + 1 copies allow a jump. With grid extension on, k more knots are added
beyond each end, spaced like the end intervals.
""",
        unsafe_allow_html=True,
    )
    table_column, chart_column = st.columns([1, 2])
    with table_column:
        list_table_editor(
            "bs_knot_table",
            KNOTS_KEY,
            grid_points,
            column="position",
            name="knots",
            max_count=MAX_KNOTS,
            validator=check_grid,
            extra_columns={"multiplicity": knot_multiplicities(grid_points)},
        )
        st.button(
            "Back to uniform knots",
            key="bs_uniform",
            on_click=_reset_to_uniform,
            disabled=not custom,
            icon=":material/restart_alt:",
        )
    with chart_column:
        _show(basis_figure(basis_table(knots, degree), degree, uirevision="bs-knots"), "bs_knot_chart")


def _randomise(seed: int) -> None:
    st.session_state["bs_coef_seed"] = seed + 1
    set_list(COEFFICIENTS_KEY, None)
    st.session_state[moved_key(COEFFICIENTS_KEY)] = None


def _zero_coefficients(count: int) -> None:
    set_list(COEFFICIENTS_KEY, [0.0] * count)
    st.session_state[moved_key(COEFFICIENTS_KEY)] = None


def coefficients_section(knots, degree: int, grid_points) -> None:
    """Draw the tab where the reader shapes a spline with one control per coefficient."""
    n_basis = len(knots) - degree - 1
    st.markdown(
        f"""
The spline is s(x) = Σ c<sub>i</sub> N<sub>i,k</sub>(x). Each coefficient c<sub>i</sub> is
drawn as a control point above its **Greville abscissa** ξ<sub>i</sub>, the mean of the k
knots inside its basis's support. Moving c<sub>i</sub> changes the curve only on the
{degree + 1} intervals where N<sub>i,k</sub> is non-zero (shaded after a move). The lower
chart shows the derivative, a spline of degree k − 1: it is continuous for k ≥ 2 and jumps
at the knots for k = 1.
""",
        unsafe_allow_html=True,
    )
    chart_box = st.container()
    randomise_column, reset_column, seed_column = st.columns([1, 1, 2], vertical_alignment="bottom")
    with seed_column:
        seed = controls.seed_input("bs_coef_seed", label="Seed of the random coefficients")
    randomise_column.button(
        "Randomise", key="bs_randomise", on_click=_randomise, args=(seed,),
        icon=":material/casino:", width="stretch",
    )
    reset_column.button(
        "Reset to 0", key="bs_reset", on_click=_zero_coefficients, args=(n_basis,),
        icon=":material/restart_alt:", width="stretch",
    )
    sliders_box = st.container()

    with st.expander("Coefficients as text"):
        typed = list_text_input(
            f"Coefficients c0 … c{n_basis - 1}",
            COEFFICIENTS_KEY,
            name="coefficients",
            max_count=MAX_COEFFICIENTS,
            placeholder="empty: a random draw from the seed above",
            help="Comma-separated numbers. Missing ones count as 0; extra ones are ignored.",
        )

    if typed is None:
        coefficients = random_coefficients(n_basis, seed).tolist()
    else:
        coefficients = (typed + [0.0] * n_basis)[:n_basis]
    curve = spline_curve(knots, degree, coefficients)

    with chart_box:
        highlight = st.session_state[moved_key(COEFFICIENTS_KEY)]
        figure = spline_figure(
            curve, degree, highlight=highlight, knots=knots, domain=(grid_points[0], grid_points[-1])
        )
        _show(figure, "bs_spline_chart")
    with sliders_box:
        labels = [f"c{index}" for index in range(n_basis)]
        if n_basis <= MAX_SLIDERS:
            list_sliders(
                COEFFICIENTS_KEY, coefficients, slider_prefix="bs_c", labels=labels,
                min_value=-COEFFICIENT_LIMIT, max_value=COEFFICIENT_LIMIT, step=0.01,
            )
        else:
            st.caption(f"{n_basis} coefficients: edit them in the table.")
            list_table_editor(
                "bs_coef_table", COEFFICIENTS_KEY, coefficients, column="value",
                name="coefficients", max_count=MAX_COEFFICIENTS, resizable=False,
                row_labels=labels, extra_columns={"ξ (Greville)": curve.greville.round(3)},
            )


@st.cache_data(max_entries=64, show_spinner="Fitting every grid size and degree…")
def _error_sweep(
    target_id: str,
    _target: Target,
    grid_range: tuple[float, float],
    n_samples: int,
    noise: float,
    seed: int,
):
    # Target objects hold lambdas that st.cache_data cannot hash, so the cache key is
    # `target_id` (the source and formula text) and the leading underscore keeps `_target`
    # out of the key.
    return fit_error_sweep(
        _target, grid_range=grid_range, n_samples=n_samples, noise=noise, seed=seed
    )


def fit_section(knots, degree: int, grid_points) -> None:
    """Draw the tab that fits a target preset by least squares and sweeps the grid size."""
    st.markdown(
        """
Least squares picks the coefficients that bring the spline closest to noisy samples of a
target. With more intervals the fit follows the target more closely, until there are too
few samples per basis or the noise dominates.
"""
    )
    sample_range = (float(grid_points[0]), float(grid_points[-1]))
    # Uploaded tables have no noise-free target to measure the fit against, so this page
    # offers presets and typed formulas, sampled over the grid range.
    choice = target_picker("bs", 1, allow_upload=False, formula_range=sample_range)
    noise_column, samples_column, seed_column = st.columns(3)
    with noise_column:
        noise = controls.noise_slider("bs_noise")
    with samples_column:
        n_samples = controls.sample_count_slider("bs_samples", value=500)
    with seed_column:
        seed = controls.seed_input("bs_seed", label="Sample seed")

    target = choice.target
    try:
        fit = fit_target(
            target, knots, degree, sample_range=sample_range, n_samples=n_samples,
            noise=noise, seed=seed,
        )
    except ValueError as err:
        st.error(f"The fit failed: {sentence(err)} Try another target or range.")
        return

    rmse_column, test_column, count_column = st.columns(3)
    rmse_column.metric("RMSE to the noise-free target", f"{fit.rmse_target:.2e}")
    test_column.metric("RMSE on held-out samples", f"{fit.rmse_test:.2e}")
    count_column.metric("Coefficients fitted", len(fit.coefficients))
    _show(fit_figure(fit, target_label=target.label, knots=knots), "bs_fit_chart")

    st.markdown(
        f"""
**Error against grid size.** The chart below fits the same samples on extended uniform
grids of many sizes over {sample_range[0]:g} to {sample_range[1]:g}, for degrees 0 to 3. For
a smooth target the error falls like G<sup>−(k+1)</sup>, so on log-log axes each degree
follows a line of slope −(k + 1) (dashed). A kink (|x|) or a jump (step) bends every degree
to a shallower slope, and noise sets a floor that no grid goes below.
""",
        unsafe_allow_html=True,
    )
    target_id = f"{choice.source}:{choice.label}"
    try:
        sweep = _error_sweep(target_id, target, sample_range, n_samples, noise, seed)
    except ValueError as err:
        st.error(f"The error sweep failed: {sentence(err)} Try another target or range.")
        return
    _show(error_sweep_figure(sweep), "bs_sweep_chart")


