"""Scaling-law section: one KAN trained on finer and finer grids, error against grid size."""

from __future__ import annotations

import time

import streamlit as st

from kan_core.limits import LIMITS
from kan_core.scaling import DEFAULT_GRID_SIZES, ScalingProgress, ScalingSweep
from ui import controls
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.grids import scaling_figure
from views.grids_sections.jobs import job_fragment, parse_grid_schedule, run_controls, sentence

__all__ = ["JOB_KEY", "ScalingJob", "scaling_section"]

JOB_KEY = "gr_scaling_job"
EXTRA_GRID_SIZE = 200
MAX_STEPS_PER_GRID = 200


class ScalingJob:
    """A `ScalingSweep` that advances for a bounded time per call and can be stopped.

    Parameters
    ----------
    grid_sizes : list of int
        Strictly increasing grid sizes.
    steps_per_grid : int
        L-BFGS steps on each grid.
    seed : int
        Seed of the samples and of the model's initial coefficients.
    """

    def __init__(self, grid_sizes: list[int], steps_per_grid: int, seed: int) -> None:
        self.sweep = ScalingSweep(grid_sizes=tuple(grid_sizes), steps_per_grid=steps_per_grid, seed=seed)
        self.settings = {"grid_sizes": list(grid_sizes), "steps_per_grid": steps_per_grid, "seed": seed}
        self.error = ""
        self.stopped = False
        self._last: ScalingProgress | None = None

    @property
    def done(self) -> bool:
        """True when every grid is trained or the reader pressed Stop."""
        # ScalingSweep.stop leaves the sweep open when no step was taken on the current
        # grid, so the job keeps its own flag.
        return self.stopped or self.sweep.done

    @property
    def fraction(self) -> float:
        """Share of the planned L-BFGS steps done, between 0 and 1."""
        return 0.0 if self._last is None else self._last.fraction

    @property
    def status(self) -> str:
        """One line for the progress bar."""
        if self._last is None:
            return "Starting the sweep…"
        last = self._last
        return (
            f"Grid G = {last.grid_size} ({last.grid_index + 1} of {len(self.sweep.grid_sizes)}), "
            f"step {last.step} of {self.sweep.steps_per_grid}; train RMSE {last.train_rmse:.2e}"
        )

    def advance(self, seconds: float) -> None:
        """Take L-BFGS steps until `seconds` have passed or the sweep is done."""
        deadline = time.perf_counter() + seconds
        while not self.done and time.perf_counter() < deadline:
            self._last = self.sweep.step()

    def stop(self) -> None:
        """Record the current grid with the steps it had and end the sweep."""
        if not self.done:
            self.sweep.stop()
        self.stopped = True


def _draw(job: ScalingJob | None) -> None:
    if job is None or not job.sweep.points:
        if job is None:
            st.info("Press **Run the sweep** to train the first grid.", icon=":material/info:")
        return

    points = job.sweep.points
    fig = scaling_figure(
        [point.grid_size for point in points],
        [point.train_rmse for point in points],
        [point.test_rmse for point in points],
    )
    st.plotly_chart(fig, key="gr_sc_chart", config=PLOTLY_CONFIG, width="stretch")

    rows = [
        {
            "grid size G": point.grid_size,
            "parameters": point.parameter_count,
            "train RMSE": point.train_rmse,
            "test RMSE": point.test_rmse,
            "L-BFGS steps": point.steps,
            "wall time (s)": point.seconds,
        }
        for point in points
    ]
    number = st.column_config.NumberColumn
    st.dataframe(
        rows,
        key="gr_sc_table",
        hide_index=True,
        column_config={
            "train RMSE": number(format="%.2e"),
            "test RMSE": number(format="%.2e"),
            "wall time (s)": number(format="%.1f"),
        },
    )
    settings = job.settings
    note = " Stopped before the end of the schedule." if job.stopped else ""
    st.caption(
        f"Run shown: grid sizes {', '.join(map(str, settings['grid_sizes']))}, "
        f"{settings['steps_per_grid']} L-BFGS steps per grid, seed {settings['seed']}. "
        f"Wall time includes the short pauses between page updates.{note}"
    )


def _settings() -> tuple[list[int], int, int] | None:
    schedule_column, extra_column, steps_column, seed_column = st.columns(
        [3, 1.4, 1.4, 1.2], vertical_alignment="bottom"
    )
    with schedule_column:
        schedule_text = st.text_input(
            "Grid sizes G, in order",
            value=", ".join(map(str, DEFAULT_GRID_SIZES)),
            key="gr_sc_grids",
            bind=controls.BIND,
            help="Comma-separated, strictly increasing numbers of grid intervals.",
        )
    with extra_column:
        add_extra = st.checkbox(
            f"Add G = {EXTRA_GRID_SIZE}", value=False, key="gr_sc_g200", bind=controls.BIND,
            help="Append the finest grid. It has more parameters than there are training samples.",
        )
    with steps_column:
        steps = int(st.number_input(
            "L-BFGS steps per grid", min_value=1, max_value=MAX_STEPS_PER_GRID, value=20, step=5,
            key="gr_sc_steps", bind=controls.BIND,
            help="Optimizer steps on each grid; each step runs up to 20 L-BFGS iterations.",
        ))
    with seed_column:
        seed = controls.seed_input("gr_sc_seed")

    try:
        sizes = parse_grid_schedule(schedule_text, max_grid_size=LIMITS.max_grid_size)
    except ValueError as err:
        st.error(sentence(err), icon=":material/error:")
        return None
    if add_extra and sizes[-1] < EXTRA_GRID_SIZE:
        sizes.append(EXTRA_GRID_SIZE)
    return sizes, steps, seed


def scaling_section() -> None:
    """Draw the scaling-law controls, the running sweep and its error-against-G chart."""
    st.markdown(
        """
The KAN paper's toy example: **f(x, y) = exp(sin(πx) + y²)** is exactly
exp(φ₁(x) + φ₂(y)), so a **[2, 1, 1] KAN** can represent it. The sweep trains on 1000
samples (1000 more for testing, float64) with L-BFGS, then refines the grid to the next
size, keeping the learned function, and trains on. For cubic splines the approximation
error of a smooth function falls like **G⁻⁴**, so on log-log axes the test RMSE should
follow the dotted line, until the parameters approach the number of samples and the test
error stops falling.
"""
    )
    settings = _settings()
    make_job = None
    if settings is not None:
        sizes, steps, seed = settings

        def make_job() -> ScalingJob:
            return ScalingJob(sizes, steps, seed)

    run_controls(JOB_KEY, make_job, start_label="Run the sweep", key_prefix="gr_sc")
    job_fragment(JOB_KEY, _draw)
