"""Tests of kan_core.scaling: the grid-size sweep on exp(sin(pi x) + y^2)."""

import math

import pytest
import torch

from kan_core.scaling import ScalingSweep, run_scaling, scaling_dataset


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Single-threaded like bench/bench_scaling.py. These models are small, and on a busy
    # machine a second thread competes with other jobs.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def short_sweep():
    # The full targets (50 steps per grid up to G = 100) live in bench/bench_scaling.py.
    return run_scaling((3, 5, 10, 20), steps_per_grid=20, seed=0)


def test_short_sweep_reaches_bound_at_grid_20(short_sweep):
    assert [point.grid_size for point in short_sweep.points] == [3, 5, 10, 20]
    assert short_sweep.points[-1].test_rmse < 5e-4


def test_short_sweep_error_falls_with_grid_size(short_sweep):
    test_rmse = [point.test_rmse for point in short_sweep.points]
    train_rmse = [point.train_rmse for point in short_sweep.points]
    for coarse, fine in zip(test_rmse, test_rmse[1:]):
        assert fine < coarse
    for coarse, fine in zip(train_rmse, train_rmse[1:]):
        assert fine < coarse


def test_short_sweep_counts_parameters(short_sweep):
    # 3 edges, each with G + 3 coefficients and two trainable scales.
    assert [point.parameter_count for point in short_sweep.points] == [
        3 * (size + 3 + 2) for size in (3, 5, 10, 20)
    ]


def test_short_sweep_reports_steps(short_sweep):
    assert [point.steps for point in short_sweep.points] == [20, 20, 20, 20]
    assert len(short_sweep.history) == 80


def test_refinement_keeps_function_on_train_samples():
    sweep = ScalingSweep((5, 10), steps_per_grid=10, seed=1)
    for _ in range(10):
        sweep.step()
    data = sweep.dataset
    with torch.no_grad():
        refined = sweep.model(data.train_input)
    before = sweep.points[0].train_rmse
    after = math.sqrt(torch.mean((refined - data.train_label) ** 2).item())
    assert sweep.model.layers[0].grid_size == 10
    # The new grid does not contain the old knots of every layer, so the refit is only close:
    # within 10% of the error the model had before.
    assert after < 1.1 * before


def test_scaling_dataset_is_seeded_and_exact():
    first = scaling_dataset(n_train=50, n_test=30, seed=4)
    second = scaling_dataset(n_train=50, n_test=30, seed=4)
    assert first.train_input.shape == (50, 2)
    assert first.test_input.shape == (30, 2)
    assert first.train_input.dtype == torch.float64
    assert torch.equal(first.train_input, second.train_input)
    x, y = first.train_input[:, 0], first.train_input[:, 1]
    expected = torch.exp(torch.sin(math.pi * x) + y**2)
    torch.testing.assert_close(first.train_label[:, 0], expected, rtol=1e-15, atol=0)
    assert first.train_input.abs().max() <= 1


def test_callback_and_stop_flag():
    reports = []
    sweep = run_scaling(
        (3, 5), steps_per_grid=4, seed=0, callback=reports.append,
        should_stop=lambda: len(reports) >= 6,
    )
    assert [report.total_steps_done for report in reports] == [1, 2, 3, 4, 5, 6]
    assert reports[3].finished_grid is not None
    assert reports[3].fraction == 0.5
    assert [point.steps for point in sweep.points] == [4, 2]
    assert sweep.done
    with pytest.raises(RuntimeError, match="the sweep is finished"):
        sweep.step()


def test_sweeps_with_same_seed_agree():
    first = run_scaling((3,), steps_per_grid=2, seed=5)
    second = run_scaling((3,), steps_per_grid=2, seed=5)
    # Not bit-identical: BLAS reductions may round differently from run to run.
    assert first.points[0].test_rmse == pytest.approx(second.points[0].test_rmse, rel=1e-9)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ((5, 3, 10), "grid_sizes must be strictly increasing, got 3 after 5"),
        ((3, 3), "grid_sizes must be strictly increasing, got 3 after 3"),
        ((), "grid_sizes must contain at least one grid size"),
        ((0, 5), "every grid size must be at least 1, got 0"),
    ],
)
def test_sweep_rejects_bad_schedule(schedule, message):
    with pytest.raises(ValueError, match=message):
        ScalingSweep(schedule)


def test_sweep_rejects_bad_options():
    with pytest.raises(ValueError, match="steps_per_grid must be at least 1, got 0"):
        ScalingSweep((3, 5), steps_per_grid=0)
    with pytest.raises(ValueError, match="grid_eps must be between 0 and 1, got 1.5"):
        ScalingSweep((3, 5), grid_eps=1.5)
    with pytest.raises(ValueError, match="grid_margin must be a finite number >= 0, got -0.1"):
        ScalingSweep((3, 5), grid_margin=-0.1)
    with pytest.raises(ValueError, match="grid_update_every must be at least 0, got -1"):
        ScalingSweep((3, 5), grid_update_every=-1)
    with pytest.raises(TypeError, match="steps_per_grid must be an int, got float"):
        ScalingSweep((3, 5), steps_per_grid=2.5)
