"""Continual-learning section: a KAN and an MLP see the domain one phase at a time."""

from __future__ import annotations

import streamlit as st

from kan_core.continual import PRESETS, ContinualRun
from ui import controls
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.grids import continual_figure
from views.grids_sections.jobs import job_fragment, run_controls

__all__ = ["JOB_KEY", "ContinualJob", "continual_section"]

JOB_KEY = "gr_continual_job"
MAX_STEPS_PER_PHASE = 1000


class ContinualJob:
    """A `ContinualRun` that trains one whole phase per call to `advance`.

    A phase of 300 Adam steps took about 1.4 s on one core of the 2-core development machine,
    so it is not split further. NOTE: Stop takes effect only between phases, which is why
    the steps per phase are capped at `MAX_STEPS_PER_PHASE`.
    """

    def __init__(self, task: str, steps_per_phase: int, grid_size: int, seed: int) -> None:
        self.run = ContinualRun(task, seed, steps_per_phase=steps_per_phase, grid_size=grid_size)
        self.settings = {"task": task, "steps_per_phase": steps_per_phase, "grid_size": grid_size, "seed": seed}
        self.error = ""
        self.stopped = False

    @property
    def done(self) -> bool:
        """True after the last phase or after Stop."""
        return self.stopped or self.run.done

    @property
    def fraction(self) -> float:
        """Share of the phases trained, between 0 and 1."""
        return len(self.run.results) / self.run.n_phases

    @property
    def status(self) -> str:
        """One line for the progress bar."""
        return f"Phase {len(self.run.results)} of {self.run.n_phases} trained"

    def advance(self, seconds: float) -> None:
        """Train the next phase; `seconds` is ignored because a phase is not split."""
        if not self.done:
            self.run.next_phase()

    def stop(self) -> None:
        """End the run after the phases trained so far."""
        self.stopped = True


def _forgetting_rows(table: list[list[float | None]]) -> list[dict]:
    rows = []
    for index, row in enumerate(table, start=1):
        entry: dict = {"after phase": index}
        for phase, rmse in enumerate(row, start=1):
            entry[f"phase {phase}"] = rmse
        rows.append(entry)
    return rows


def _draw(job: ContinualJob | None) -> None:
    if job is None or not job.run.results:
        if job is None:
            st.info("Press **Train phase by phase** to start.", icon=":material/info:")
        return

    run = job.run
    results = run.results
    fig = continual_figure(
        run.x_plot.tolist(), run.target_plot.tolist(), list(run.task.phases),
        [result.kan_prediction.tolist() for result in results],
        [result.mlp_prediction.tolist() for result in results],
    )
    st.plotly_chart(fig, key="gr_cl_chart", config=PLOTLY_CONFIG, width="stretch")

    st.markdown(
        "**Forgetting table**: RMSE on each phase's interval (column) after training each "
        "phase (row). A model that forgets shows errors growing down a column."
    )
    number = st.column_config.NumberColumn
    phase_columns = {f"phase {p}": number(format="%.2e") for p in range(1, run.n_phases + 1)}
    kan_column, mlp_column = st.columns(2)
    with kan_column:
        st.markdown("KAN")
        st.dataframe(_forgetting_rows(run.forgetting_table("kan")), key="gr_cl_kan_table",
                     hide_index=True, column_config=phase_columns, placeholder="–")
    with mlp_column:
        st.markdown("MLP")
        st.dataframe(_forgetting_rows(run.forgetting_table("mlp")), key="gr_cl_mlp_table",
                     hide_index=True, column_config=phase_columns, placeholder="–")
    settings = job.settings
    st.caption(
        f"Run shown: {PRESETS[settings['task']].label}, {settings['steps_per_phase']} Adam steps "
        f"per phase, KAN grid G = {settings['grid_size']}, seed {settings['seed']}. "
        f"KAN: {run.kan.parameter_count()} parameters; MLP {list(run.mlp_widths)}: "
        f"{run.mlp.parameter_count()} parameters."
    )


def continual_section() -> None:
    """Draw the continual-learning controls, the predictions after each phase and the tables."""
    st.markdown(
        """
The input domain is split into adjacent **phases**. Each model trains on phase 1 only,
then on phase 2 only, and so on; it never sees an earlier phase again. A B-spline
coefficient acts on only k + 1 grid intervals, so a KAN without a base function changes
nothing far from the phase it is learning. An MLP's weights shape the whole curve, so it
overwrites what it learned before: **catastrophic forgetting**.
"""
    )
    task_column, steps_column, grid_column, seed_column = st.columns([3, 1.5, 2, 1])
    with task_column:
        task = st.selectbox(
            "Task", list(PRESETS), format_func=lambda key: PRESETS[key].label,
            key="gr_cl_task", bind=controls.BIND, help="Target function and how it is split into phases.",
        )
    with steps_column:
        steps = int(st.number_input(
            "Adam steps per phase", min_value=10, max_value=MAX_STEPS_PER_PHASE, value=300, step=50,
            key="gr_cl_steps", bind=controls.BIND, help="Training steps of each model on each phase.",
        ))
    with grid_column:
        grid_size = controls.grid_size_slider("gr_cl_grid", value=200, min_value=10, max_value=200)
    with seed_column:
        seed = controls.seed_input("gr_cl_seed")

    def make_job() -> ContinualJob:
        return ContinualJob(task, steps, grid_size, seed)

    run_controls(JOB_KEY, make_job, start_label="Train phase by phase", key_prefix="gr_cl")
    job_fragment(JOB_KEY, _draw)
