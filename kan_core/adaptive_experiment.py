"""The adaptive-grid experiment: a layer's grid follows its inputs, and the fit improves.

A [1, 1] KAN trains on inputs laid out in one of `INPUT_LAYOUTS` (drifted past the grid,
clustered in narrow bands, or uniform). A copy then gets its grid moved to the inputs with
`kan_core.grids.update_grid_from_samples`, and both models train on. The result contains
what the Grids page draws: the inputs, the knots before and after the update, both fits and their
test errors.
"""

from __future__ import annotations

import copy

import torch

from kan_core.grids import count_outside_grid, update_grid_from_samples
from kan_core.model import KAN
from kan_core.targets import Dataset, Target, make_dataset
from kan_core.training import Trainer

__all__ = ["GRID_RANGE", "INPUT_LAYOUTS", "LAYOUT_SPAN", "run_adaptive_experiment"]

GRID_RANGE = (-1.0, 1.0)
SAMPLES_PER_LAYOUT = 400
LBFGS_STEPS = 8
PLOT_POINTS = 400

INPUT_LAYOUTS = {
    "drifted": {
        "label": "Drifted: shifted past the right end of the grid",
        "ranges": [(-0.3, 1.9)],
    },
    "clustered": {
        "label": "Clustered: two narrow bands",
        "ranges": [(-0.8, -0.6), (0.25, 0.45)],
    },
    "uniform": {
        "label": "Uniform over the grid",
        "ranges": [GRID_RANGE],
    },
}
"""Training-input layouts: one or more intervals, each with the same sample count."""

LAYOUT_SPAN = (
    min(low for layout in INPUT_LAYOUTS.values() for low, _ in layout["ranges"]),
    max(high for layout in INPUT_LAYOUTS.values() for _, high in layout["ranges"]),
)


def _layout_dataset(target: Target, layout: str, seed: int) -> Dataset:
    parts = [
        make_dataset(target, SAMPLES_PER_LAYOUT, seed=seed + index, dtype=torch.float64, ranges=[band])
        for index, band in enumerate(INPUT_LAYOUTS[layout]["ranges"])
    ]
    return Dataset(*(torch.cat([getattr(part, name) for part in parts]) for name in (
        "train_input", "train_label", "test_input", "test_label"
    )))


def _test_rmse(trainer: Trainer) -> float:
    return trainer.evaluate()["test_loss"] ** 0.5


def run_adaptive_experiment(
    target: Target, layout: str, grid_size: int, grid_eps: float, seed: int
) -> dict:
    """Train a [1, 1] KAN, then continue with its grid kept and, on a copy, updated to the inputs.

    Both models train `LBFGS_STEPS` L-BFGS steps on the uniform grid first, so the update
    starts from a learned function, then `LBFGS_STEPS` more each.

    Returns
    -------
    dict
        Lists for the figure (``inputs``, ``grid_before``, ``grid_after``, ``x_plot``,
        ``target``, ``fit_fixed``, ``fit_adaptive``) and numbers (``rmse_fixed``,
        ``rmse_adaptive``, ``outside_before``, ``outside_after``, ``n_inputs``).

    Raises
    ------
    ValueError
        For an unknown layout, a grid size over the session cap, or a target that is not
        finite on the layout's inputs.
    """
    if layout not in INPUT_LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(INPUT_LAYOUTS)}, got {layout!r}")
    data = _layout_dataset(target, layout, seed)
    fixed = KAN([1, 1], grid_size=grid_size, grid_range=GRID_RANGE, dtype=torch.float64, seed=seed)
    Trainer(fixed, data, optimizer="lbfgs", seed=seed, record_every=0).step(LBFGS_STEPS)

    adapted = copy.deepcopy(fixed)
    grid_before = adapted.layers[0].grid[0].tolist()
    outside_before = int(count_outside_grid(adapted.layers[0], data.train_input)[0])
    update_grid_from_samples(adapted, data.train_input, grid_eps=grid_eps)
    grid_after = adapted.layers[0].grid[0].tolist()
    outside_after = int(count_outside_grid(adapted.layers[0], data.train_input)[0])

    fixed_trainer = Trainer(fixed, data, optimizer="lbfgs", seed=seed, record_every=0)
    adapted_trainer = Trainer(adapted, data, optimizer="lbfgs", seed=seed, record_every=0)
    fixed_trainer.step(LBFGS_STEPS)
    adapted_trainer.step(LBFGS_STEPS)

    low = min(GRID_RANGE[0], INPUT_LAYOUTS[layout]["ranges"][0][0])
    high = max(GRID_RANGE[1], INPUT_LAYOUTS[layout]["ranges"][-1][1])
    x_plot = torch.linspace(low, high, PLOT_POINTS, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fit_fixed = fixed(x_plot)[:, 0].tolist()
        fit_adaptive = adapted(x_plot)[:, 0].tolist()
    return {
        "inputs": data.train_input[:, 0].tolist(),
        "grid_before": grid_before,
        "grid_after": grid_after,
        "x_plot": x_plot[:, 0].tolist(),
        "target": target(x_plot)[:, 0].tolist(),
        "fit_fixed": fit_fixed,
        "fit_adaptive": fit_adaptive,
        "rmse_fixed": _test_rmse(fixed_trainer),
        "rmse_adaptive": _test_rmse(adapted_trainer),
        "outside_before": outside_before,
        "outside_after": outside_after,
        "n_inputs": data.train_input.shape[0],
    }
