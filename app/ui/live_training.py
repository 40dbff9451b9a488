"""Play, Pause, Step and Reset over one or more `kan_core.training.Trainer`s, live in the page.

A page builds a `LiveTraining` once at module level (it holds only key names and timing
settings, no user data) and then, on every run:

1. ``live.init_state()`` sets the controller's session-state keys.
2. ``live.sync(signature, build, lr=...)`` calls ``build()`` for fresh trainers when
   `signature` (every setting except the learning rate) differs from the last run, and
   otherwise passes a new learning rate to the running trainers with ``Trainer.set_lr``.
3. ``live.buttons()`` draws the Play, Pause, Step and Reset buttons.
4. ``live.run(render, details=...)`` draws a fragment that trains for a bounded slice and
   then calls ``render(trainers)`` to draw the charts. While playing, the fragment reruns
   every ``interval`` seconds (``st.fragment(run_every=...)``), so only the charts redraw
   and a click on Pause gets through between ticks. Optional ``details(trainers)`` draws
   heavier charts in a second fragment that redraws less often.

The trainers live in ``st.session_state``, one set per browser session. Each tick trains
all of them in turns of a few updates until ``tick_budget`` seconds have passed or
``LIMITS.max_steps_per_tick`` updates have run, so a tick stays short on a shared CPU.
Divergence pauses the run and keeps the models and their histories, which the engine has
already rolled back to the last finite parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping

import streamlit as st

from kan_core.limits import LIMITS
from kan_core.training import Trainer
from ui.state import init_state

__all__ = ["LiveTraining"]


class LiveTraining:
    """Controller of live training for one page.

    Parameters
    ----------
    prefix : str
        Page prefix, such as ``"st"``. Session-state keys are ``<prefix>_live_<name>`` and
        button keys ``<prefix>_play``, ``<prefix>_pause``, ``<prefix>_step`` and
        ``<prefix>_reset``.
    interval : float
        Seconds between ticks while playing.
    tick_budget : float
        Seconds of training per tick. A tick stops after the turn that crosses it.
    chunk_steps : int
        Updates each trainer runs per turn within a tick (1 for LBFGS, whose updates are
        slow). Turns alternate between trainers, so all of them advance alike.
    click_steps : int
        Updates each trainer runs for one click on Step. With LBFGS it is ``click_steps //
        chunk_steps``, because each LBFGS update is slow.
    max_steps : int
        Step count of the first trainer at which playing pauses, which bounds the history
        a session keeps in memory.
    """

    def __init__(
        self,
        prefix: str,
        *,
        interval: float = 0.3,
        tick_budget: float = 0.12,
        chunk_steps: int = 5,
        click_steps: int = 10,
        max_steps: int = 20_000,
    ) -> None:
        self.prefix = prefix
        self.interval = interval
        self.tick_budget = tick_budget
        self.chunk_steps = chunk_steps
        self.click_steps = click_steps
        self.max_steps = max_steps

        self.trainers_key = f"{prefix}_live_trainers"
        self.signature_key = f"{prefix}_live_signature"
        self.playing_key = f"{prefix}_live_playing"
        self.notice_key = f"{prefix}_live_notice"
        self.rate_key = f"{prefix}_live_rate"
        self.last_tick_key = f"{prefix}_live_last_tick"
        self.context_key = f"{prefix}_live_context"
        self.generation_key = f"{prefix}_live_generation"

    # ----------------------------------------------------------------- state

    def init_state(self) -> None:
        """Set the first value of every session-state key of this controller."""
        init_state({
            self.trainers_key: {},
            self.signature_key: None,
            self.playing_key: False,
            # (kind, sentence) with kind "warning" or "info", or None.
            self.notice_key: None,
            self.rate_key: None,
            # (time.perf_counter(), step count of the first trainer) at the previous tick.
            self.last_tick_key: None,
            self.context_key: None,
            self.generation_key: 0,
        })

    @property
    def trainers(self) -> dict[str, Trainer]:
        """Model name to its trainer, in the order `build` returned them."""
        return st.session_state[self.trainers_key]

    @property
    def playing(self) -> bool:
        """True while the fragment trains on every tick."""
        return st.session_state[self.playing_key]

    @property
    def context(self):
        """The `context` passed to the `sync` call that built the current trainers."""
        return st.session_state[self.context_key]

    @property
    def generation(self) -> int:
        """Number of times the trainers were built in this session.

        Put it in a chart's ``uirevision`` to drop the reader's zoom when training starts over.
        """
        return st.session_state[self.generation_key]

    @property
    def step_count(self) -> int:
        """Updates done by the first trainer since the last reset."""
        trainers = list(self.trainers.values())
        return trainers[0].step_count if trainers else 0

    def sync(
        self,
        signature: Hashable,
        build: Callable[[], Mapping[str, Trainer]],
        *,
        lr: float | None = None,
        context: object = None,
    ) -> bool:
        """Rebuild the trainers when the settings changed, else apply a new learning rate.

        Parameters
        ----------
        signature : hashable
            Every setting that defines the data, the models and the optimizer, except the
            learning rate. A change starts over, and the playing state stays as it was.
        build : callable returning a mapping of str to Trainer
            Called only when `signature` changed or after Reset.
        lr : float, optional
            Learning rate for all trainers, applied with ``Trainer.set_lr``, which keeps the
            optimizer state, the history and the step count.
        context : any, optional
            Stored beside the trainers when they are rebuilt, such as the settings that
            `build` used, so the charts describe the models shown even after a failed build.

        Returns
        -------
        bool
            True when the trainers were rebuilt.

        Raises
        ------
        Exception
            Whatever `build` raises. The previous trainers and signature then stay, and
            playing pauses, so the page can show the message and keep the old charts.
        """
        if st.session_state[self.signature_key] == signature and self.trainers:
            if lr is not None:
                for trainer in self.trainers.values():
                    if trainer.lr != lr:
                        trainer.set_lr(lr)
            return False

        try:
            trainers = dict(build())
        except Exception:
            st.session_state[self.playing_key] = False
            raise
        st.session_state[self.trainers_key] = trainers
        st.session_state[self.signature_key] = signature
        st.session_state[self.context_key] = context
        st.session_state[self.generation_key] += 1
        st.session_state[self.notice_key] = None
        st.session_state[self.rate_key] = None
        st.session_state[self.last_tick_key] = None
        return True

    # ----------------------------------------------------------------- buttons

    def _play(self) -> None:
        for trainer in self.trainers.values():
            trainer.resume()
        st.session_state[self.notice_key] = None
        st.session_state[self.last_tick_key] = None
        st.session_state[self.playing_key] = True

    def _pause(self) -> None:
        st.session_state[self.playing_key] = False

    def _step(self) -> None:
        for trainer in self.trainers.values():
            trainer.resume()
        st.session_state[self.notice_key] = None
        self._train(self._click_steps(), budget=None)

    def _reset(self) -> None:
        # The next sync finds no signature and builds the trainers anew.
        st.session_state[self.signature_key] = None
        st.session_state[self.playing_key] = False
        st.session_state[self.notice_key] = None

    def buttons(self) -> None:
        """Draw Play, Pause, Step and Reset in one row.

        The buttons sit outside the training fragment, so each click reruns the whole page,
        which starts or stops the fragment's timer.
        """
        playing = self.playing
        play, pause, step, reset = st.columns(4)
        play.button(
            "Play", key=f"{self.prefix}_play", on_click=self._play, disabled=playing,
            icon=":material/play_arrow:", type="primary", width="stretch",
            help="Train continuously. The charts update a few times per second.",
        )
        pause.button(
            "Pause", key=f"{self.prefix}_pause", on_click=self._pause, disabled=not playing,
            icon=":material/pause:", width="stretch", help="Stop after the current tick.",
        )
        step.button(
            "Step", key=f"{self.prefix}_step", on_click=self._step, disabled=playing,
            icon=":material/skip_next:", width="stretch",
            help=f"Run {self._click_steps()} updates of each model.",
        )
        reset.button(
            "Reset", key=f"{self.prefix}_reset", on_click=self._reset,
            icon=":material/restart_alt:", width="stretch",
            help="Pause and start again from the initial models.",
        )

    # ----------------------------------------------------------------- training

    def _click_steps(self) -> int:
        # An LBFGS update costs about as much as 20 others, so Step runs fewer of them.
        if self._chunk() == 1:
            return max(1, self.click_steps // self.chunk_steps)
        return self.click_steps

    def _chunk(self) -> int:
        if any(trainer.optimizer_name == "lbfgs" for trainer in self.trainers.values()):
            return 1
        return self.chunk_steps

    def _train(self, steps: int, budget: float | None) -> None:
        # Run turns of a few updates per trainer until `steps` updates or `budget` seconds.
        started = time.perf_counter()
        steps = min(steps, LIMITS.max_steps_per_tick, self.max_steps - self.step_count)
        chunk = self._chunk()
        done = 0
        while done < steps:
            if budget is not None and time.perf_counter() - started >= budget:
                break
            count = min(chunk, steps - done)
            for name, trainer in self.trainers.items():
                report = trainer.step(count)
                if report.diverged:
                    self._stop("warning", f"{name}: {report.message}")
                    return
                if report.stopped:
                    self._stop("info", f"{name}: {report.message}")
                    return
            done += count

        if self.step_count >= self.max_steps:
            self._stop(
                "info",
                f"Paused at the limit of {self.max_steps:,} steps per run. Press Reset or "
                "change a setting to train again.",
            )

    def _stop(self, kind: str, sentence: str) -> None:
        st.session_state[self.playing_key] = False
        st.session_state[self.notice_key] = (kind, sentence)

    def _measure_rate(self) -> None:
        # Steps per wall-clock second between ticks, so drawing time counts too.
        now = time.perf_counter()
        previous = st.session_state[self.last_tick_key]
        st.session_state[self.last_tick_key] = (now, self.step_count)
        if previous is None or now <= previous[0]:
            return
        rate = (self.step_count - previous[1]) / (now - previous[0])
        old = st.session_state[self.rate_key]
        st.session_state[self.rate_key] = rate if old is None else 0.5 * old + 0.5 * rate

    def _tick(self, render: Callable[[Mapping[str, Trainer]], None]) -> None:
        was_playing = self.playing
        if was_playing and self.trainers:
            self._train(LIMITS.max_steps_per_tick, budget=self.tick_budget)
            self._measure_rate()

        self._status()
        render(self.trainers)

        # Divergence or the step limit paused the run inside this tick: rerun the page so
        # the buttons change and the fragment's timer stops.
        if was_playing and not self.playing:
            st.rerun(scope="app")

    def _status(self) -> None:
        notice = st.session_state[self.notice_key]
        if notice is not None:
            kind, sentence = notice
            show = st.warning if kind == "warning" else st.info
            show(sentence, icon=":material/warning:" if kind == "warning" else ":material/info:")

        step_column, rate_column = st.columns(2)
        step_column.metric("Step", f"{self.step_count:,}")
        rate = st.session_state[self.rate_key]
        rate_text = f"{rate:,.0f}" if self.playing and rate is not None else "paused"
        rate_column.metric("Steps per second", rate_text)

    def run(
        self,
        render: Callable[[Mapping[str, Trainer]], None],
        *,
        details: Callable[[Mapping[str, Trainer]], None] | None = None,
        details_interval: float = 1.0,
    ) -> None:
        """Draw the training fragment, and optionally a slower fragment for detail charts.

        Parameters
        ----------
        render : callable(trainers)
            Draws the main charts from the trainers (name to Trainer) after each training
            slice. It runs on every tick, so it should take well under a second.
        details : callable(trainers), optional
            Draws charts that may lag behind, in a second fragment that only reads the
            trainers. While playing it reruns every `details_interval` seconds, so the
            browser redraws heavy figures less often than the main ones.
        details_interval : float
            Seconds between redraws of `details` while playing.
        """
        interval = self.interval if self.playing else None
        st.fragment(run_every=interval)(self._tick)(render)
        if details is not None:
            details_every = details_interval if self.playing else None
            st.fragment(run_every=details_every)(self._details)(details)

    def _details(self, details: Callable[[Mapping[str, Trainer]], None]) -> None:
        details(self.trainers)
