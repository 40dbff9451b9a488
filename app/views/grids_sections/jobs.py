"""Long Grids-page work run in short slices, so the page stays responsive and Stop works.

A job is an object in ``st.session_state`` (so it belongs to one reader) that does a bounded
amount of work per `Job.advance` call. `job_fragment` draws a fragment that advances the
running job once per tick and redraws its results. Between ticks Streamlit handles clicks as
usual, so the Stop button is an ordinary button whose callback calls `Job.stop`.

In Streamlit's AppTest every ``run()`` executes the fragment once, so a test advances a job
by one slice per ``run()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import streamlit as st

from ui.controls import parse_number_list

__all__ = [
    "SLICE_SECONDS",
    "TICK_SECONDS",
    "Job",
    "job_fragment",
    "parse_grid_schedule",
    "parse_step_list",
    "run_controls",
    "sentence",
]

SLICE_SECONDS = 0.4
"""Work per tick. Longer slices waste less time in reruns but make Stop take effect later."""

TICK_SECONDS = 0.1
"""Pause between ticks, in seconds, during which clicks are handled."""


class Job(Protocol):
    """Work that `job_fragment` can advance, show and stop."""

    error: str
    """One plain sentence when the job failed, else an empty string."""

    @property
    def done(self) -> bool: ...

    @property
    def fraction(self) -> float: ...

    @property
    def status(self) -> str: ...

    def advance(self, seconds: float) -> None: ...

    def stop(self) -> None: ...


def sentence(err: Exception) -> str:
    """Return an exception message as a sentence: capital first letter and a full stop."""
    text = str(err).strip()
    return text[:1].upper() + text[1:].rstrip(".") + "."


def is_running(job_key: str) -> bool:
    """Return True while the job stored under `job_key` has work left."""
    job = st.session_state.get(job_key)
    return job is not None and not job.done


def _stop(job_key: str) -> None:
    job = st.session_state.get(job_key)
    if job is not None:
        job.stop()


def _start(job_key: str, make_job: Callable[[], Job]) -> None:
    try:
        st.session_state[job_key] = make_job()
    except ValueError as err:
        # The previous job, if any, stays, so its results remain on the page.
        st.session_state[f"{job_key}_error"] = sentence(err)


def run_controls(
    job_key: str,
    make_job: Callable[[], Job] | None,
    *,
    start_label: str,
    key_prefix: str,
) -> None:
    """Draw the Start and Stop buttons of one job.

    Parameters
    ----------
    job_key : str
        Session-state key of the job.
    make_job : callable or None
        Builds a new job from the current settings; None while the settings are invalid,
        which disables Start.
    start_label : str
    key_prefix : str
        Prefix of the two button keys, such as ``gr_sc``.
    """
    running = is_running(job_key)
    start_column, stop_column, _ = st.columns([2, 1, 3])
    start_column.button(
        start_label, key=f"{key_prefix}_start", type="primary", icon=":material/play_arrow:",
        disabled=make_job is None or running, on_click=_start, args=(job_key, make_job),
    )
    stop_column.button(
        "Stop", key=f"{key_prefix}_stop", icon=":material/stop:", disabled=not running,
        on_click=_stop, args=(job_key,),
    )
    start_error = st.session_state.pop(f"{job_key}_error", None)
    if start_error:
        st.error(f"The run could not start: {start_error}", icon=":material/error:")


def job_fragment(job_key: str, draw: Callable[[Job | None], None]) -> None:
    """Advance the job under `job_key` by one slice per tick, then draw it with `draw`.

    While the job runs, the fragment reruns itself every `TICK_SECONDS`. When the job
    finishes, the whole page reruns once, so controls such as Start and Stop update and the
    ticking ends.
    """
    running = is_running(job_key)

    @st.fragment(run_every=TICK_SECONDS if running else None)
    def _tick() -> None:
        job = st.session_state.get(job_key)
        # Both slots exist in every run, so the elements after them keep their positions
        # when the bar disappears, and Streamlit leaves no stale copies behind.
        progress_slot = st.empty()
        error_slot = st.empty()
        if job is not None and not job.done:
            try:
                job.advance(SLICE_SECONDS)
            except (ValueError, RuntimeError) as err:
                job.error = sentence(err)
                job.stop()
            progress_slot.progress(job.fraction, text=job.status)
            if job.done:
                st.rerun()
        if job is not None and job.error:
            error_slot.error(job.error, icon=":material/error:")
        draw(job)

    _tick()


def parse_grid_schedule(text: str, *, max_grid_size: int, max_count: int = 8) -> list[int]:
    """Parse a comma-separated list of strictly increasing grid sizes.

    Raises
    ------
    ValueError
        With a plain sentence naming the bad value and the fix.
    """
    numbers = parse_number_list(text, name="grid sizes", max_count=max_count)
    if not numbers:
        raise ValueError("The grid schedule is empty, so type grid sizes such as 3, 5, 10, 20.")
    sizes = _whole_numbers(numbers, "grid size", low=1, high=max_grid_size)
    for previous, current in zip(sizes, sizes[1:]):
        if current <= previous:
            raise ValueError(
                f"The grid sizes must increase, but {current} follows {previous} in "
                f"“{text.strip()}”, so type them in increasing order, such as 3, 5, 10, 20."
            )
    return sizes


def parse_step_list(text: str, *, count: int, total_steps: int) -> list[int]:
    """Parse `count` strictly increasing refinement steps, each between 1 and `total_steps` - 1.

    Raises
    ------
    ValueError
        With a plain sentence naming the bad value and the fix.
    """
    numbers = parse_number_list(text, name="refinement steps", max_count=max(count, 1) + 8)
    if len(numbers) != count:
        raise ValueError(
            f"The schedule has {count + 1} grid sizes and needs {count} refinement steps, "
            f"but “{text.strip()}” lists {len(numbers)}, so type one step per refinement."
        )
    steps = _whole_numbers(numbers, "refinement step", low=1, high=total_steps - 1)
    for previous, current in zip(steps, steps[1:]):
        if current <= previous:
            raise ValueError(
                f"The refinement steps must increase, but {current} follows {previous} in "
                f"“{text.strip()}”, so type them in increasing order."
            )
    return steps


def _whole_numbers(numbers: list[float], name: str, *, low: int, high: int) -> list[int]:
    values = []
    for number in numbers:
        if not number.is_integer():
            raise ValueError(f"Each {name} must be a whole number, so round {number:g}.")
        if not low <= number <= high:
            raise ValueError(
                f"Each {name} must be between {low} and {high}, so change {number:g} to a "
                f"value in that range."
            )
        values.append(int(number))
    return values
