"""Time symbolic fitting: ranking the whole library for one edge against 0.5 s.

Run with ``python bench/bench_symbolic.py``. The script prints two tables:
the median time of ``rank_candidates`` over 5 runs for a few edges with 1000
samples each (1 and 2 torch threads), and the median time of
``fit_symbolic`` per candidate on the sine edge.
"""

from __future__ import annotations

import statistics
import time

import torch

from kan_core.symbolic import fit_symbolic, rank_candidates
from kan_core.symbolic_library import LIBRARY

TARGET_SECONDS = 0.5
SAMPLES = 1000
RUNS = 5


def make_edges() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.linspace(-2.0, 2.0, SAMPLES, dtype=torch.float64)
    noise = 0.02 * torch.randn(SAMPLES, generator=generator, dtype=torch.float64)
    return {
        "sin(2x+1)": (x, torch.sin(2 * x + 1)),
        "tanh(3x)+noise": (x, torch.tanh(3 * x) + noise),
        "x^2 float32": (x.float(), (x * x).float()),
    }


def median_seconds(function, runs: int = RUNS) -> float:
    function()  # warm-up: first calls pay for lazy initialisation in torch
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    threads_before = torch.get_num_threads()
    edges = make_edges()

    print(f"rank_candidates over {len(LIBRARY)} candidates, median of {RUNS} runs, target {TARGET_SECONDS} s")
    print(f"{'edge':<16} {'threads':>7} {'candidates':>10} {'samples':>7} {'median s':>9} {'target s':>8}  best")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for label, (x, y) in edges.items():
            seconds = median_seconds(lambda: rank_candidates(x, y))
            best = rank_candidates(x, y)[0]
            verdict = "ok" if seconds <= TARGET_SECONDS else "SLOW"
            print(
                f"{label:<16} {threads:>7} {len(LIBRARY):>10} {x.numel():>7} {seconds:>9.3f} "
                f"{TARGET_SECONDS:>8.1f}  {best.name} (R^2 {best.r2:.6f}) {verdict}"
            )

    torch.set_num_threads(1)
    x, y = edges["sin(2x+1)"]
    print()
    print(f"fit_symbolic per candidate on sin(2x+1), {SAMPLES} samples, 1 thread, median of {RUNS} runs")
    print(f"{'candidate':<10} {'median ms':>9} {'R^2':>12}")
    total = 0.0
    for name in LIBRARY:
        seconds = median_seconds(lambda: fit_symbolic(x, y, name))
        total += seconds
        print(f"{name:<10} {1e3 * seconds:>9.1f} {fit_symbolic(x, y, name).r2:>12.8f}")
    # cos reuses the sin search inside rank_candidates, so this sum is an upper bound.
    print(f"{'sum':<10} {1e3 * total:>9.1f}")
    torch.set_num_threads(threads_before)


if __name__ == "__main__":
    main()
