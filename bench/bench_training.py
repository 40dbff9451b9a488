"""Compare training-step throughput of kan_core with pykan 0.2.8, and time spline strategies.

Run: ``.venv/bin/python bench/bench_training.py`` (about a minute; the first run also creates
bench/.venv-pykan, see bench/pykan_env.py). Target: kan_core runs at least 5x pykan's steps
per second on both cases.

Method
------
- Both sides run single-threaded (``torch.set_num_threads(1)``), in float32, on the same
  train set (written to a temporary file), with degree 3, grid range [-1, 1] and seed 0.
- Case a: [1, 1, 1], 10 intervals, 800 training samples of exp(sin(pi x)).
  Case b: [2, 5, 1], 20 intervals, 1000 training samples of exp(sin(pi x) + y^2).
- One step is forward, MSE, backward and one optimizer update on the full batch.
  kan_core runs ``Trainer.step(n)`` with ``record_every=0``, so no history is recorded but the
  divergence guard (a finite check and a parameter snapshot per step) stays on. The
  "records on" row shows the cost of ``record_every=1``, which the app uses for short runs.
- pykan runs in its own venv as a subprocess, built with ``symbolic_enabled=False`` and put in
  ``model.speed()`` mode. A bare loop (forward, MSE, backward, step) trains it. That loop is
  cheaper than pykan's ``fit``, which also computes regularization terms and updates grids.
- Adam: the same torch.optim.Adam class with lr 0.01 on both sides. kan_core's Trainer passes
  ``fused=True``; pykan uses the default implementation, as its ``fit`` does. A row with
  ``fused=True`` for pykan too shows how much of the gap that flag explains.
- LBFGS: torch.optim.LBFGS(lr=1, max_iter=20, history_size=10, line_search_fn="strong_wolfe")
  on both sides (pykan's fit uses its own copy of LBFGS with the same history size).
- The MSE columns give the training loss at the end of the fastest round, as a check that both
  sides train. They differ because the two libraries initialise differently.
  The line search stops at different points on the two sides, so the table also gives loss
  evaluations (closure calls) per second, the fairer LBFGS number.
- Times are CPU seconds of each process (``time.process_time``), which other programs on a
  loaded machine disturb less than wall time. The timing rounds alternate between the two
  sides, and each row reports each side's fastest round.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pykan_env import pykan_python  # noqa: E402

from kan_core.bspline import bspline_basis  # noqa: E402
from kan_core.local_basis import local_basis  # noqa: E402
from kan_core.model import KAN  # noqa: E402
from kan_core.targets import TARGETS, make_dataset  # noqa: E402
from kan_core.training import Trainer  # noqa: E402

CASES = {
    "a": {"widths": [1, 1, 1], "grid": 10, "train": 800, "target": "exp_sin_pi_x"},
    "b": {"widths": [2, 5, 1], "grid": 20, "train": 1000, "target": "exp_sin_pi_x_y2"},
}
DEGREE = 3
ROUNDS = 5
STEPS = {"adam": {"a": 200, "b": 100}, "lbfgs": {"a": 4, "b": 3}}
LR = {"adam": 0.01, "lbfgs": 1.0}
TARGET_RATIO = 5.0

# The pykan half. It reads one JSON command per line and replies with one JSON line.
WORKER = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from kan import KAN

data = torch.load(sys.argv[1])
state = {}

def build(command):
    spec = data[command["case"]]
    model = KAN(width=list(spec["widths"]), grid=spec["grid"], k=spec["degree"], seed=0,
                symbolic_enabled=False, auto_save=False, device="cpu").speed()
    if command["optimizer"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=command["lr"],
                                     fused=command.get("fused", False))
    else:
        optimizer = torch.optim.LBFGS(model.parameters(), lr=command["lr"], max_iter=20,
                                      history_size=10, line_search_fn="strong_wolfe")
    state.update(model=model, optimizer=optimizer, x=spec["x"], y=spec["y"], calls=0)

def closure():
    state["optimizer"].zero_grad()
    loss = torch.nn.functional.mse_loss(state["model"](state["x"]), state["y"])
    loss.backward()
    state["calls"] += 1
    return loss

def run(steps):
    optimizer = state["optimizer"]
    state["calls"] = 0
    start = time.process_time()
    for _ in range(steps):
        if isinstance(optimizer, torch.optim.LBFGS):
            loss = optimizer.step(closure)
        else:
            loss = closure()
            optimizer.step()
    seconds = time.process_time() - start
    return {"seconds": seconds, "calls": state["calls"], "loss": float(loss)}

for line in sys.stdin:
    command = json.loads(line)
    if command["cmd"] == "build":
        build(command)
        reply = {"ok": True}
    else:
        reply = run(command["steps"])
    print(json.dumps(reply), flush=True)
"""


class PykanWorker:
    """A pykan process that builds models and times training steps on request."""

    def __init__(self, data_path: Path, workdir: Path) -> None:
        self.process = subprocess.Popen(
            [str(pykan_python()), "-c", WORKER, str(data_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=workdir,
        )

    def request(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the pykan worker exited; run it by hand to see its error")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


class OursRunner:
    """kan_core's side: a Trainer that counts its loss evaluations."""

    def __init__(self, spec: dict, optimizer: str, record_every: int = 0) -> None:
        model = KAN(spec["widths"], grid_size=spec["grid"], degree=DEGREE, seed=0)
        self.trainer = Trainer(
            model, spec["dataset"], optimizer=optimizer, lr=LR[optimizer],
            record_every=record_every,
        )
        self.calls = 0
        original = self.trainer._objective_and_gradients

        def counted(x, y):
            self.calls += 1
            return original(x, y)

        self.trainer._objective_and_gradients = counted

    def run(self, steps: int) -> dict:
        self.calls = 0
        start = time.process_time()
        report = self.trainer.step(steps)
        seconds = time.process_time() - start
        return {"seconds": seconds, "calls": self.calls, "loss": report.train_loss}


def build_data() -> dict:
    data = {}
    for name, spec in CASES.items():
        target = TARGETS[spec["target"]]
        total = int(round(spec["train"] / 0.8))
        dataset = make_dataset(target, total, test_fraction=0.2, seed=0, dtype=torch.float32)
        assert dataset.train_input.shape[0] == spec["train"], dataset.train_input.shape
        data[name] = {
            "widths": spec["widths"],
            "grid": spec["grid"],
            "degree": DEGREE,
            "x": dataset.train_input,
            "y": dataset.train_label,
            "dataset": dataset,
        }
    return data


def compare(worker: PykanWorker, spec: dict, case: str, optimizer: str, **options) -> dict:
    """Time both sides in alternating rounds and keep each side's fastest round."""
    steps = STEPS[optimizer][case]
    worker.request(cmd="build", case=case, optimizer=optimizer, lr=LR[optimizer],
                   fused=options.get("pykan_fused", False))
    ours = OursRunner(spec, optimizer, options.get("record_every", 0))
    worker.request(cmd="run", steps=max(steps // 4, 1))  # warm-up
    ours.run(max(steps // 4, 1))

    best_ours = best_theirs = None
    for _ in range(ROUNDS):
        theirs = worker.request(cmd="run", steps=steps)
        mine = ours.run(steps)
        if best_theirs is None or theirs["seconds"] < best_theirs["seconds"]:
            best_theirs = theirs
        if best_ours is None or mine["seconds"] < best_ours["seconds"]:
            best_ours = mine
    return {
        "steps": steps,
        "ours_steps_per_s": steps / best_ours["seconds"],
        "pykan_steps_per_s": steps / best_theirs["seconds"],
        "ours_calls_per_s": best_ours["calls"] / best_ours["seconds"],
        "pykan_calls_per_s": best_theirs["calls"] / best_theirs["seconds"],
        "ours_loss": best_ours["loss"],
        "pykan_loss": best_theirs["loss"],
    }


def time_spline_strategies(spec: dict, repeats: int = 200) -> dict[str, float]:
    """Time one forward and backward pass of a first layer's spline sum three ways, in us."""
    model = KAN(spec["widths"], grid_size=spec["grid"], degree=DEGREE, seed=0)
    layer = model.layers[0]
    x = spec["x"].clone().requires_grad_(True)
    coef = layer.coef.detach().clone().requires_grad_(True)
    knots = layer.knots
    k = layer.degree
    n_basis = coef.shape[-1]

    def table_gather():
        layer(x).sum().backward()

    def local_then_dense():
        values, start = local_basis(x, knots, k)
        columns = start.unsqueeze(-1) + k + torch.arange(k + 1)
        basis = values.new_zeros(x.shape[0], x.shape[1], n_basis + 2 * k)
        basis = basis.scatter(2, columns, values)
        basis = basis[:, :, k : k + n_basis]
        torch.einsum("bin,ion->bo", basis, coef).sum().backward()

    def full_recursion():
        basis = bspline_basis(x, knots, k)
        torch.einsum("bin,ion->bo", basis, coef).sum().backward()

    timings = {}
    for name, function in (
        ("power table + gather (used when the basis changes)", table_gather),
        ("local de Boor + dense matmul", local_then_dense),
        ("full Cox-de Boor + dense matmul", full_recursion),
    ):
        for _ in range(10):
            function()
        rounds = []
        for _ in range(3):
            start = time.process_time()
            for _ in range(repeats):
                function()
            rounds.append((time.process_time() - start) / repeats * 1e6)
        timings[name] = min(rounds)
    return timings


def main() -> int:
    torch.set_num_threads(1)
    data = build_data()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "data.pt"
        torch.save({name: {key: value for key, value in spec.items() if key != "dataset"}
                    for name, spec in data.items()}, data_path)
        worker = PykanWorker(data_path, Path(folder))
        try:
            for case in CASES:
                spec = data[case]
                rows.append((case, "adam", compare(worker, spec, case, "adam")))
                rows.append((case, "adam, records on",
                             compare(worker, spec, case, "adam", record_every=1)))
                rows.append((case, "adam, pykan fused too",
                             compare(worker, spec, case, "adam", pykan_fused=True)))
                rows.append((case, "lbfgs", compare(worker, spec, case, "lbfgs")))
        finally:
            worker.close()

    print(f"Training throughput, torch {torch.__version__}, 1 thread, float32")
    header = (f"{'case':<24}{'optimizer':<24}{'kan_core steps/s':>18}{'pykan steps/s':>15}"
              f"{'ratio':>8}{'evals/s ratio':>15}{'MSE kan_core':>15}{'MSE pykan':>13}")
    print(header)
    print("-" * len(header))
    missed = []
    for case, optimizer, result in rows:
        ratio = result["ours_steps_per_s"] / result["pykan_steps_per_s"]
        call_ratio = result["ours_calls_per_s"] / result["pykan_calls_per_s"]
        label = f"{case}: {CASES[case]['widths']} G={CASES[case]['grid']}"
        print(f"{label:<24}{optimizer:<24}{result['ours_steps_per_s']:>18.1f}"
              f"{result['pykan_steps_per_s']:>15.1f}{ratio:>7.1f}x{call_ratio:>14.1f}x"
              f"{result['ours_loss']:>15.3g}{result['pykan_loss']:>13.3g}")
        headline = {"adam": ratio, "lbfgs": call_ratio}.get(optimizer)
        if headline is not None and headline < TARGET_RATIO:
            missed.append(f"{case}/{optimizer}")
    print(f"Target: kan_core >= {TARGET_RATIO:g}x pykan (steps/s for Adam, evaluations/s for "
          f"LBFGS). {'Missed: ' + ', '.join(missed) if missed else 'Met on every case.'}")

    print()
    print("Spline sum of the first layer, forward + backward, microseconds (lower is faster)")
    for case in CASES:
        timings = time_spline_strategies(data[case])
        label = f"{case}: {CASES[case]['widths']} G={CASES[case]['grid']}"
        cells = "  ".join(f"{name}: {value:7.0f}" for name, value in timings.items())
        print(f"{label:<24}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
