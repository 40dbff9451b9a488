"""Benchmark B-spline basis evaluation and the B-splines page's rerun time.

Run it with ``make bench`` or ``.venv/bin/python bench/bench_bsplines.py``. It prints two
tables:

1. The time to evaluate every cubic basis at 10,000 points on a grid of G = 100 intervals
   (extended, so 103 bases): ``kan_core.bspline.bspline_basis`` (dense Cox-de Boor),
   ``kan_core.local_basis.local_basis`` (only the k + 1 non-zero bases) and SciPy's
   ``BSpline.design_matrix`` (sparse), each the median of several runs.
2. The server-side time of one rerun of the B-splines page after a widget change, measured
   around ``AppTest.run()``: wall-clock time, which includes AppTest's own overhead and
   waiting for the CPU on a busy machine, and the CPU time of this process. The target is a
   wall-clock rerun under 150 ms on a 2-core machine. The load average is printed because
   other processes on the machine inflate the wall-clock column.

Torch runs on one intra-op thread, as the app does.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import BSpline

from kan_core.bspline import bspline_basis, extend_grid, uniform_grid

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY_FILE = REPO_ROOT / "app" / "streamlit_app.py"
PAGE = "views/bsplines.py"

POINTS = 10_000
GRID_SIZE = 100
DEGREE = 3
BASIS_REPEATS = 15
RERUN_REPEATS = 9
RERUN_TARGET_MS = 150.0


def _median_ms(action: Callable[[], object], repeats: int) -> float:
    action()  # warm-up: first calls allocate and load kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_basis() -> list[tuple[str, float]]:
    """Time each basis evaluator on the same points and knots; return (name, median ms)."""
    knots = extend_grid(uniform_grid(GRID_SIZE, (-1.0, 1.0)), DEGREE)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(POINTS, 1, generator=generator, dtype=torch.float64) * 2 - 1
    x_numpy, knots_numpy = x[:, 0].numpy(), knots[0].numpy()

    rows = [
        ("kan_core.bspline.bspline_basis (dense)", _median_ms(lambda: bspline_basis(x, knots, DEGREE), BASIS_REPEATS)),
    ]
    try:
        from kan_core.local_basis import local_basis
    except ImportError:
        rows.append(("kan_core.local_basis.local_basis", float("nan")))
    else:
        rows.append(
            ("kan_core.local_basis.local_basis (k + 1 per point)",
             _median_ms(lambda: local_basis(x, knots, DEGREE), BASIS_REPEATS))
        )
    rows.append(
        ("scipy BSpline.design_matrix (sparse CSR)",
         _median_ms(lambda: BSpline.design_matrix(x_numpy, knots_numpy, DEGREE), BASIS_REPEATS))
    )
    return rows


def _open_page(section: str):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ENTRY_FILE), default_timeout=120)
    app.query_params["bs_section"] = section
    app.run()
    app.switch_page(PAGE).run()
    if app.exception:
        raise RuntimeError(f"the B-splines page raised: {app.exception}")
    return app


def _rerun_ms(app, change: Callable[[object, int], None]) -> tuple[float, float]:
    wall, cpu = [], []
    for repeat in range(RERUN_REPEATS + 1):
        change(app, repeat)
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        app.run()
        wall_ms = (time.perf_counter() - wall_start) * 1000
        cpu_ms = (time.process_time() - cpu_start) * 1000
        if app.exception:
            raise RuntimeError(f"the B-splines page raised: {app.exception}")
        # The first rerun after opening a section warms caches; leave it out.
        if repeat > 0:
            wall.append(wall_ms)
            cpu.append(cpu_ms)
    return statistics.median(wall), statistics.median(cpu)


def bench_reruns() -> list[tuple[str, float, float]]:
    """Time reruns after typical widget changes; return (case, median wall ms, median CPU ms)."""
    sys.path.insert(0, str(REPO_ROOT / "app"))
    cases = [
        ("Basis functions: degree slider", "Basis functions",
         lambda app, i: app.slider(key="bs_degree").set_value(2 + i % 2)),
        ("Basis functions: grid size slider", "Basis functions",
         lambda app, i: app.slider(key="bs_grid_size").set_value(5 + i % 2)),
        ("Coefficients: one coefficient slider", "Coefficients",
         lambda app, i: app.slider(key="bs_c3").set_value(0.5 if i % 2 else -0.5)),
        ("Fit a target: degree slider (sweep cached)", "Fit a target",
         lambda app, i: app.slider(key="bs_degree").set_value(2 + i % 2)),
        ("Fit a target: sample seed (new sweep)", "Fit a target",
         lambda app, i: app.number_input(key="bs_seed").set_value(100 + i)),
    ]
    return [(name, *_rerun_ms(_open_page(section), change)) for name, section, change in cases]


def main() -> None:
    torch.set_num_threads(1)

    print(f"Basis evaluation: {POINTS:,} points, G = {GRID_SIZE}, k = {DEGREE}, "
          f"median of {BASIS_REPEATS} runs")
    rows = bench_basis()
    scipy_ms = rows[-1][1]
    print(f"{'method':<52} {'ms':>9} {'vs scipy':>9}")
    for name, ms in rows:
        print(f"{name:<52} {ms:>9.2f} {ms / scipy_ms:>8.2f}x")

    print()
    load = os.getloadavg()[0]
    print(f"B-splines page rerun after a widget change (AppTest, median of {RERUN_REPEATS}), "
          f"target < {RERUN_TARGET_MS:.0f} ms wall, {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"{'case':<52} {'wall ms':>9} {'CPU ms':>9} {'target':>9}")
    for name, wall_ms, cpu_ms in bench_reruns():
        verdict = "met" if wall_ms < RERUN_TARGET_MS else "missed"
        print(f"{name:<52} {wall_ms:>9.1f} {cpu_ms:>9.1f} {verdict:>9}")


if __name__ == "__main__":
    main()
