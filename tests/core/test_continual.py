"""Tests of kan_core.continual: a KAN keeps earlier phases, an MLP forgets them."""

import math

import pytest
import torch

from kan_core.continual import PEAK_CENTRES, PRESETS, ContinualRun, run_continual


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Models this small run faster on one thread than on two that share a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def peaks_run():
    torch.manual_seed(0)
    return run_continual("peaks", seed=0)


def test_peaks_kan_keeps_first_phase(peaks_run):
    table = peaks_run.forgetting_table("kan")
    after_first, after_last = table[0][0], table[-1][0]
    assert after_last <= 2 * after_first


def test_peaks_kan_learns_every_phase(peaks_run):
    # Each peak has height 1, so an RMSE below 1e-2 on its phase means the peak was learned.
    table = peaks_run.forgetting_table("kan")
    for phase in range(5):
        assert table[phase][phase] < 1e-2
        assert table[-1][phase] < 1e-2


def test_peaks_mlp_forgets_first_phase(peaks_run):
    table = peaks_run.forgetting_table("mlp")
    assert table[0][0] < 5e-2  # it did learn the first peak
    assert table[-1][0] >= 10 * table[0][0]


def test_peaks_kan_leaves_unseen_region_untouched(peaks_run):
    # Coefficients whose support contains no sample get zero gradient, and Adam moves a parameter
    # with zero gradient and fresh state by exactly 0. Phase 1 covers [-1, -0.6] and a cubic
    # basis spans 4 intervals of 0.01, so the KAN beyond -0.5 must still be its initial curve.
    fresh = ContinualRun("peaks", seed=0)
    with torch.no_grad():
        initial = fresh.kan(fresh.x_plot[:, None])[:, 0]
    after_first = peaks_run.results[0].kan_prediction
    far = peaks_run.x_plot > -0.5
    assert torch.equal(after_first[far], initial[far])
    assert not torch.equal(after_first[~far], initial[~far])


def test_forgetting_table_shape_and_predictions(peaks_run):
    table = peaks_run.forgetting_table("mlp")
    assert len(table) == 5
    assert table[1][2:] == [None, None, None]
    assert all(value is not None for value in table[-1])
    for result in peaks_run.results:
        assert result.kan_prediction.shape == (peaks_run.plot_points,)
        assert result.mlp_prediction.shape == (peaks_run.plot_points,)


def test_phase_rmse_matches_direct_computation(peaks_run):
    result = peaks_run.results[-1]
    lower, upper = peaks_run.task.phases[2]
    inside = (peaks_run.x_plot >= lower) & (peaks_run.x_plot <= upper)
    x = peaks_run.x_plot[inside]
    target = sum(torch.exp(-300 * (x - c) ** 2) for c in PEAK_CENTRES)
    expected = math.sqrt(torch.mean((result.kan_prediction[inside] - target) ** 2).item())
    assert result.kan_rmse[2] == pytest.approx(expected, rel=1e-12)


def test_phase_samples_stay_inside_their_phase(peaks_run):
    for inputs, (lower, upper) in zip(peaks_run.phase_inputs, peaks_run.task.phases):
        assert inputs.min() >= lower
        assert inputs.max() <= upper


@pytest.mark.parametrize("key", ["sines3", "sines5"])
def test_sine_presets_are_continuous_with_rising_frequency(key):
    task = PRESETS[key]
    x = torch.linspace(-1, 1, 20001, dtype=torch.float64)[:, None]
    y = task.fn(x)[:, 0]
    # A continuous curve with slope at most 2 pi * 5 / 0.4 ~ 79 moves < 0.01 per 1e-4 step.
    assert (y[1:] - y[:-1]).abs().max() < 0.01
    zero_crossings = []
    for lower, upper in task.phases:
        inside = y[((x[:, 0] > lower + 1e-3) & (x[:, 0] < upper - 1e-3))]
        zero_crossings.append(int((inside[1:] * inside[:-1] < 0).sum()))
    assert zero_crossings == sorted(zero_crossings)
    assert zero_crossings[0] < zero_crossings[-1]


def test_step_wise_runner_reports_each_phase():
    seen = []
    run = run_continual(
        "sines3", seed=1, steps_per_phase=5, samples_per_phase=20, plot_points=101,
        callback=lambda result: seen.append(result.phase),
    )
    assert seen == [0, 1, 2]
    assert run.done
    with pytest.raises(RuntimeError, match="every phase has been trained"):
        run.next_phase()


def test_runs_with_same_seed_agree():
    first = ContinualRun("sines3", seed=3, steps_per_phase=5, samples_per_phase=20)
    second = ContinualRun("sines3", seed=3, steps_per_phase=5, samples_per_phase=20)
    torch.testing.assert_close(first.next_phase().mlp_prediction, second.next_phase().mlp_prediction)


def test_continual_rejects_bad_options():
    with pytest.raises(ValueError, match="task must be one of"):
        ContinualRun("waves")
    with pytest.raises(ValueError, match="steps_per_phase must be at least 1, got 0"):
        ContinualRun(steps_per_phase=0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got -1"):
        ContinualRun(lr=-1.0)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'lbfgs', got 'sgd'"):
        ContinualRun(optimizer="sgd")
    with pytest.raises(ValueError, match="mlp_widths must start and end with 1"):
        ContinualRun(mlp_widths=(2, 8, 1))
    with pytest.raises(ValueError, match="model must be 'kan' or 'mlp'"):
        ContinualRun(steps_per_phase=1).forgetting_table("cnn")
