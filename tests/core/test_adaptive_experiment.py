"""Tests of the adaptive-grid experiment behind the Grids page."""

import pytest
import torch

from kan_core.adaptive_experiment import INPUT_LAYOUTS, run_adaptive_experiment
from kan_core.targets import TARGETS


def test_drifted_inputs_fit_better_after_update():
    result = run_adaptive_experiment(TARGETS["sin_pi_x"], "drifted", 10, 0.02, 0)

    assert result["outside_before"] > 0
    assert result["outside_after"] == 0
    assert result["rmse_adaptive"] < 0.1 * result["rmse_fixed"]


def test_uniform_grid_eps_spaces_knots_evenly():
    result = run_adaptive_experiment(TARGETS["sin_pi_x"], "clustered", 8, 1.0, 0)

    steps = torch.tensor(result["grid_after"], dtype=torch.float64).diff()
    torch.testing.assert_close(steps, torch.full_like(steps, steps.mean().item()), rtol=0, atol=1e-9)


def test_target_curve_matches_target():
    result = run_adaptive_experiment(TARGETS["abs_x"], "uniform", 5, 0.5, 1)

    x = torch.tensor(result["x_plot"], dtype=torch.float64)
    torch.testing.assert_close(torch.tensor(result["target"], dtype=torch.float64), x.abs())
    assert result["n_inputs"] == len(result["inputs"])


def test_unknown_layout_raises():
    with pytest.raises(ValueError, match="layout must be one of"):
        run_adaptive_experiment(TARGETS["sin_pi_x"], "sideways", 5, 0.5, 0)


def test_layouts_have_labels_and_ranges():
    for name, layout in INPUT_LAYOUTS.items():
        assert layout["label"], name
        assert all(low < high for low, high in layout["ranges"]), name
