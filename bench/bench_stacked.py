"""Benchmark one live-training tick of the Stacked-splines page, per network depth.

Run it with ``.venv/bin/python bench/bench_stacked.py``. For each depth it opens the page
in Streamlit's AppTest and measures the server-side time of two reruns:

- Step: a click on Step, which trains 10 updates of the KAN and of the MLP and redraws
  every chart.
- Play tick: a click on Play, which trains for the tick budget (0.12 s) and redraws every
  chart, as each ``run_every`` tick does while playing. AppTest also reruns the whole page
  around the fragment, so this slightly overstates a real tick.

Each cell is the median of several reruns: wall-clock time, then the CPU time of this
process. The target is a tick well under 1 s on a 2-core machine. The load average is
printed because other processes on the machine inflate the wall-clock column. Torch runs
on one intra-op thread, as the app does.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY_FILE = REPO_ROOT / "app" / "streamlit_app.py"
PAGE = "views/stacked.py"
DEPTHS = (1, 2, 3, 4, 6)
REPEATS = 5


def _open(depth: int):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ENTRY_FILE), default_timeout=120)
    app.query_params["st_depth"] = str(depth)
    app.run()
    app.switch_page(PAGE).run()
    return app


def _time_click(app, key: str, after=None) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(REPEATS):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        app.button(key=key).click().run()
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
        if after is not None:
            after(app)
    return statistics.median(wall), statistics.median(cpu)


def _pause(app) -> None:
    app.button(key="st_pause").click().run()


def main() -> None:
    sys.path.insert(0, str(ENTRY_FILE.parent))
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    print(f"{'depth':>5}  {'Step wall':>10}  {'Step CPU':>9}  {'tick wall':>10}  {'tick CPU':>9}  {'steps/tick':>10}")

    for depth in DEPTHS:
        app = _open(depth)
        step_wall, step_cpu = _time_click(app, "st_step")

        before = app.session_state["st_live_trainers"]["KAN"].step_count
        tick_wall, tick_cpu = _time_click(app, "st_play", after=_pause)
        after = app.session_state["st_live_trainers"]["KAN"].step_count
        steps_per_tick = (after - before) / REPEATS

        print(
            f"{depth:>5}  {step_wall * 1000:>8.0f}ms  {step_cpu * 1000:>7.0f}ms  "
            f"{tick_wall * 1000:>8.0f}ms  {tick_cpu * 1000:>7.0f}ms  {steps_per_tick:>10.0f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
