"""Capacity-schedule section: train a KAN, refine its grid at chosen steps, keep training."""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st
import torch

from kan_core.grids import refine
from kan_core.limits import LIMITS
from kan_core.model import KAN
from kan_core.training import Trainer
from ui import controls
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.grids import refinement_activation_figure
from ui.figures.training import loss_figure
from ui.target_picker import TargetChoice, build_dataset, target_picker
from views.grids_sections.jobs import (
    job_fragment,
    parse_grid_schedule,
    parse_step_list,
    run_controls,
    sentence,
)

__all__ = ["JOB_KEY", "CapacityJob", "CapacitySettings", "capacity_section"]

JOB_KEY = "gr_capacity_job"
OPTIMIZER_LABELS = {"lbfgs": "L-BFGS", "adam": "Adam", "sgd": "SGD"}
MAX_TOTAL_STEPS = 2000
CURVE_POINTS = 200


@dataclass(frozen=True)
class CapacitySettings:
    """Everything one capacity-schedule run depends on."""

    target: TargetChoice
    hidden_width: int
    grid_sizes: tuple[int, ...]
    refine_steps: tuple[int, ...]
    total_steps: int
    optimizer: str
    n_samples: int
    seed: int

    @property
    def widths(self) -> list[int]:
        """Layer widths [inputs, hidden, 1], or [inputs, 1] without a hidden layer."""
        n_inputs = len(self.target.domain)
        hidden = [self.hidden_width] if self.hidden_width > 0 else []
        return [n_inputs, *hidden, 1]


class CapacityJob:
    """Train a KAN with `Trainer` and call `refine` at each step of the schedule.

    Before and after every refinement the job samples each edge activation on its grid, so
    the page can show that the two coincide.
    """

    def __init__(self, settings: CapacitySettings) -> None:
        domain = settings.target.domain
        self.settings = settings
        self.dataset = build_dataset(
            settings.target, settings.n_samples, seed=settings.seed, dtype=torch.float64
        )

        # One grid range for the first layer that covers every input's sampling domain.
        first_range = (min(low for low, _ in domain), max(high for _, high in domain))
        n_layers = len(settings.widths) - 1
        self.model = KAN(
            settings.widths, grid_size=settings.grid_sizes[0],
            grid_range=[first_range] + [(-1.0, 1.0)] * (n_layers - 1),
            dtype=torch.float64, seed=settings.seed,
        )
        self.trainer = Trainer(self.model, self.dataset, optimizer=settings.optimizer, seed=settings.seed)
        self.phases = [(settings.grid_sizes[0], self.model.parameter_count())]
        self.refinements: list[tuple[int, int]] = []
        self.snapshots: list[dict] = []
        self.error = ""
        self.stopped = False

    @property
    def done(self) -> bool:
        """True after the last step, after Stop, or when training stopped by itself."""
        return self.stopped or self.trainer.step_count >= self.settings.total_steps

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, between 0 and 1."""
        return min(1.0, self.trainer.step_count / self.settings.total_steps)

    @property
    def status(self) -> str:
        """One line for the progress bar."""
        grid_size = self.phases[-1][0]
        return f"Step {self.trainer.step_count} of {self.settings.total_steps} on grid G = {grid_size}"

    def advance(self, seconds: float) -> None:
        """Train, refining on schedule, until `seconds` have passed or the run is done."""
        deadline = time.perf_counter() + seconds
        while not self.done and time.perf_counter() < deadline:
            if self._refinement_due():
                self._refine()
                continue
            report = self.trainer.step(1)
            if report.stopped:
                self.error = report.message
                self.stopped = True

    def stop(self) -> None:
        """End the run; the history so far stays."""
        self.stopped = True

    def _refinement_due(self) -> bool:
        index = len(self.refinements)
        steps = self.settings.refine_steps
        return index < len(steps) and self.trainer.step_count >= steps[index]

    def _refine(self) -> None:
        index = len(self.refinements)
        old_size = self.settings.grid_sizes[index]
        new_size = self.settings.grid_sizes[index + 1]
        before = self._edge_curves()
        refine(self.model, new_size, samples=self.dataset.train_input)
        after = self._edge_curves()

        step = self.trainer.step_count
        self.refinements.append((step, new_size))
        self.phases.append((new_size, self.model.parameter_count()))
        self.snapshots.append({
            "step": step,
            "from_size": old_size,
            "to_size": new_size,
            "before": before,
            "after": after,
            "grids": [layer.grid.detach().numpy().copy() for layer in self.model.layers],
            # Largest |after - before| of each edge on its grid, shape (in, out) per layer.
            "edge_change": [
                torch.amax(torch.abs(new - old), dim=0) for (_, new), (_, old) in zip(after, before)
            ],
        })

    def _edge_curves(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        # Sampled on each layer's grid range, which refine keeps, so before and after share x.
        curves = []
        for layer in self.model.layers:
            x, parts = layer.edge_curves(CURVE_POINTS)
            curves.append((x, parts["total"]))
        return curves


def _edge_options(widths: list[int]) -> list[tuple[int, int, int]]:
    return [
        (layer, i, j)
        for layer in range(len(widths) - 1)
        for i in range(widths[layer])
        for j in range(widths[layer + 1])
    ]


def _edge_label(edge: tuple[int, int, int]) -> str:
    layer, i, j = edge
    return f"layer {layer + 1}, input {i + 1} → node {j + 1}"


def _phase_rows(job: CapacityJob) -> list[dict]:
    starts = [0] + [step for step, _ in job.refinements]
    return [
        {"from step": start, "grid size G": grid_size, "parameters": count}
        for start, (grid_size, count) in zip(starts, job.phases)
    ]


def _caption_run(job: CapacityJob) -> None:
    settings = job.settings
    note = " Stopped before the last step." if job.stopped else ""
    st.caption(
        f"Run shown: {settings.target.label}, KAN {settings.widths}, "
        f"{OPTIMIZER_LABELS[settings.optimizer]}, grid sizes {', '.join(map(str, settings.grid_sizes))} "
        f"refined after steps {', '.join(map(str, settings.refine_steps))} of "
        f"{settings.total_steps}, {settings.n_samples} samples, seed {settings.seed}.{note}"
    )


def _draw(job: CapacityJob | None) -> None:
    if job is None:
        st.info("Press **Run the schedule** to start.", icon=":material/info:")
        return

    events = [(step, f"G = {grid_size}") for step, grid_size in job.refinements]
    fig = loss_figure({"KAN": job.trainer.history}, events=events, uirevision="gr-capacity-loss")
    loss_column, phase_column = st.columns([3, 1.3])
    loss_column.plotly_chart(fig, key="gr_cap_loss_chart", config=PLOTLY_CONFIG, width="stretch")
    with phase_column:
        st.markdown("**Parameters per phase**")
        st.dataframe(_phase_rows(job), key="gr_cap_phase_table", hide_index=True)
    if not job.snapshots:
        _caption_run(job)
        return

    edges = _edge_options(job.settings.widths)
    edge = st.selectbox(
        "Edge to compare before and after each refinement", edges, format_func=_edge_label,
        key="gr_cap_edge", bind=controls.BIND,
    )
    layer, i, j = edge
    shots = []
    for shot in job.snapshots:
        x, before = shot["before"][layer]
        _, after = shot["after"][layer]
        shots.append({
            "step": shot["step"], "from_size": shot["from_size"], "to_size": shot["to_size"],
            "x": x[:, i].numpy(), "before": before[:, i, j].numpy(), "after": after[:, i, j].numpy(),
            "grid_after": shot["grids"][layer][i],
            "max_change": float(shot["edge_change"][layer][i, j]),
        })
    fig = refinement_activation_figure(shots, edge_label=_edge_label(edge))
    st.plotly_chart(fig, key="gr_cap_activation_chart", config=PLOTLY_CONFIG, width="stretch")
    _caption_run(job)
    st.caption(
        "Each panel title gives the largest change of this edge's activation on its grid. "
        "When the new grid size is a multiple of the old one, the new grid contains the old "
        "knots and the old spline is reproduced up to rounding. Otherwise the least-squares "
        "fit differs from it by a small amount."
    )


def _settings() -> CapacitySettings | None:
    inputs_column, hidden_column, optimizer_column = st.columns(3)
    with inputs_column:
        n_inputs = st.radio(
            "Inputs", [1, 2], index=1, horizontal=True, key="gr_cap_inputs", bind=controls.BIND,
            help="Number of inputs of the target, and so of the KAN's first layer.",
        )
    target = target_picker("gr_cap", n_inputs, default="exp_sin_pi_x_y2")
    with hidden_column:
        hidden = st.slider(
            "Hidden nodes", min_value=0, max_value=5, value=1, key="gr_cap_hidden", bind=controls.BIND,
            help="Width of the one hidden layer; 0 connects the inputs straight to the output.",
        )
    with optimizer_column:
        optimizer = st.selectbox(
            "Optimizer", list(OPTIMIZER_LABELS), format_func=OPTIMIZER_LABELS.get,
            key="gr_cap_optimizer", bind=controls.BIND,
            help="L-BFGS runs up to 20 iterations per step; Adam and SGD run one update per step.",
        )

    grids_column, steps_column, total_column, samples_column, seed_column = st.columns([2, 2, 1.2, 1.5, 1])
    with grids_column:
        grids_text = st.text_input(
            "Grid sizes G, in order", value="3, 5, 10, 20, 50", key="gr_cap_grids", bind=controls.BIND,
            help="Comma-separated, strictly increasing numbers of grid intervals.",
        )
    with steps_column:
        steps_text = st.text_input(
            "Refine after steps", value="10, 20, 30, 40", key="gr_cap_steps", bind=controls.BIND,
            help="One step number per refinement, increasing, each below the total steps.",
        )
    with total_column:
        total_steps = int(st.number_input(
            "Total steps", min_value=2, max_value=MAX_TOTAL_STEPS, value=60, step=10,
            key="gr_cap_total", bind=controls.BIND, help="Optimizer steps over the whole schedule.",
        ))
    with samples_column:
        n_samples = controls.sample_count_slider("gr_cap_samples", value=1000, min_value=100)
    with seed_column:
        seed = controls.seed_input("gr_cap_seed")

    try:
        sizes = parse_grid_schedule(grids_text, max_grid_size=LIMITS.max_grid_size)
        steps = parse_step_list(steps_text, count=len(sizes) - 1, total_steps=total_steps)
    except ValueError as err:
        st.error(sentence(err), icon=":material/error:")
        return None
    return CapacitySettings(target, hidden, tuple(sizes), tuple(steps), total_steps, optimizer, n_samples, seed)


def capacity_section() -> None:
    """Draw the capacity-schedule controls, the running training and its refinements."""
    st.markdown(
        """
Start on a coarse grid, then **refine** it: the new, finer grid gets coefficients fitted by
least squares to the old spline, so the network computes the same function with more
parameters and training carries on from there. The activation just before and just after
each refinement should lie on top of each other.

The loss can still jump right after a refinement (dotted lines). When the new grid size is a
multiple of the old one, the refinement keeps the function up to rounding. Otherwise the fit
moves it slightly, and each panel below gives the largest change. Either way the optimizer
starts afresh on the new coefficients, because Adam's first updates move each one by about
the learning rate and L-BFGS discards the curvature it had learned. Most of the jump comes
from those first steps.
"""
    )
    settings = _settings()
    make_job = None
    if settings is not None:

        def make_job() -> CapacityJob:
            return CapacityJob(settings)

    run_controls(JOB_KEY, make_job, start_label="Run the schedule", key_prefix="gr_cap")
    job_fragment(JOB_KEY, _draw)
