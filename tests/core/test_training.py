"""Trainer: convergence on seeded problems, the divergence guard, history and controls."""

import math

import pytest
import torch

from kan_core.grids import refine
from kan_core.limits import LIMITS
from kan_core.model import KAN, MLP
from kan_core.targets import TARGETS, make_dataset
from kan_core.training import Trainer


@pytest.fixture(scope="module")
def stacked_dataset():
    # exp(sin(pi x)) on [-1, 1]. A [1, 1, 1] KAN approximates it as exp applied to sin(pi x),
    # and sin(pi x) stays inside the second layer's grid [-1, 1].
    return make_dataset(TARGETS["exp_sin_pi_x"], 500, test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def two_input_dataset():
    return make_dataset(TARGETS["exp_sin_pi_x_y2"], 400, test_fraction=0.25, seed=1)


def _parameters_finite(model):
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_lbfgs_fits_stacked_example(stacked_dataset):
    model = KAN([1, 1, 1], grid_size=10, degree=3, seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="lbfgs", lr=1.0, record_every=5)

    report = trainer.step(20)

    assert report.steps_run == 20
    assert not report.stopped
    assert report.test_loss < 1e-4
    assert trainer.history["test_loss"][-1] < 1e-3 * trainer.history["test_loss"][0]


def test_adam_fits_stacked_example(stacked_dataset):
    model = KAN([1, 1, 1], grid_size=10, degree=3, seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="adam", lr=0.02, record_every=50)

    trainer.step(200)
    report = trainer.step(200)

    assert report.test_loss < 2e-3


def test_adam_updates_match_torch_adam(two_input_dataset):
    trained = KAN([2, 3, 1], grid_size=5, dtype=torch.float64, seed=2)
    reference = KAN([2, 3, 1], grid_size=5, dtype=torch.float64, seed=2)
    trainer = Trainer(trained, two_input_dataset, optimizer="adam", lr=0.02, record_every=0)
    params = [p for p in reference.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=0.02)
    x = two_input_dataset.train_input
    y = two_input_dataset.train_label

    trainer.step(15)
    trainer.set_lr(0.005)
    trainer.step(10)
    for step in range(25):
        if step == 15:
            optimizer.param_groups[0]["lr"] = 0.005
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(reference(x), y).backward()
        optimizer.step()

    for (name, value), expected in zip(trained.named_parameters(), reference.parameters()):
        assert (value - expected).abs().max().item() <= 1e-10, name


@pytest.mark.parametrize(("optimizer", "lr", "steps"), [("sgd", 0.5, 100), ("lbfgs", 1.0, 5)])
def test_optimizer_reduces_loss(two_input_dataset, optimizer, lr, steps):
    model = KAN([2, 3, 1], grid_size=5, seed=1)
    trainer = Trainer(model, two_input_dataset, optimizer=optimizer, lr=lr)
    start = trainer.history["train_loss"][0]

    trainer.step(steps)

    assert trainer.history["train_loss"][-1] < 0.5 * start
    assert trainer.history["test_loss"][-1] < 0.5 * trainer.history["test_loss"][0]


def test_mlp_trains_too(stacked_dataset):
    model = MLP([1, 8, 1], seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="adam", lr=0.02, record_every=100)

    trainer.step(150)
    trainer.step(150)

    assert trainer.history["test_loss"][-1] < 0.2 * trainer.history["test_loss"][0]
    assert trainer.history["layer_ranges"][-1] == []
    assert len(trainer.history["grad_norms"][-1]) == 2


def test_step_over_session_cap_raises(stacked_dataset):
    trainer = Trainer(KAN([1, 1, 1], seed=0), stacked_dataset)

    with pytest.raises(ValueError, match=f"n_steps must be at most {LIMITS.max_steps_per_tick}"):
        trainer.step(LIMITS.max_steps_per_tick + 1)

    assert trainer.step_count == 0


def test_divergence_guard_restores_finite_parameters(stacked_dataset):
    model = KAN([1, 1, 1], grid_size=5, seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="sgd", lr=1e6)
    seen = []
    trainer.callback = lambda trainer_, report: seen.append(report)

    report = trainer.step(50)

    assert report.diverged
    assert report.steps_run < 50
    assert _parameters_finite(model)
    assert report.message.startswith(f"Training stopped at step {report.step + 2}: the loss became")
    assert f"Restored the parameters of step {report.step}." in report.message
    assert "Lower the learning rate" in report.message
    assert trainer.history["step"][-1] <= report.step
    assert all(math.isfinite(value) for value in trainer.history["train_loss"])
    assert seen[-1].diverged


def test_diverged_trainer_waits_for_resume(stacked_dataset):
    # Adam's first update has the size of lr, so lr = 1e30 overflows at once and the
    # restored parameters are the initial ones, from which a sane rate trains normally.
    model = KAN([1, 1, 1], grid_size=5, seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="adam", lr=1e30)
    assert trainer.step(50).diverged
    parameters = [p.detach().clone() for p in model.parameters()]

    idle = trainer.step(10)

    assert idle.steps_run == 0
    assert idle.diverged
    assert all(torch.equal(a, b) for a, b in zip(parameters, model.parameters()))

    trainer.set_lr(0.01)
    trainer.resume()
    resumed = trainer.step(10)
    assert resumed.steps_run == 10
    assert not resumed.diverged
    assert _parameters_finite(model)


def test_restored_parameters_give_finite_loss(stacked_dataset):
    model = KAN([1, 1, 1], grid_size=5, seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="adam", lr=1e30, record_every=0)

    report = trainer.step(100)

    assert report.diverged
    assert math.isfinite(trainer.evaluate()["train_loss"])


def test_set_lr_keeps_history_and_state(stacked_dataset):
    model = KAN([1, 1, 1], seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="adam", lr=0.01)
    trainer.step(5)
    moments = trainer.optimizer.state[model.layers[0].coef]["exp_avg"].clone()
    history_length = len(trainer.history["step"])

    trainer.set_lr(0.001)

    assert trainer.optimizer.param_groups[0]["lr"] == 0.001
    assert torch.equal(trainer.optimizer.state[model.layers[0].coef]["exp_avg"], moments)
    assert len(trainer.history["step"]) == history_length
    trainer.step(3)
    assert trainer.history["step"] == list(range(9))


def test_set_lr_rejects_invalid_values(stacked_dataset):
    trainer = Trainer(KAN([1, 1, 1]), stacked_dataset)
    with pytest.raises(ValueError, match="lr must be positive, got 0"):
        trainer.set_lr(0)
    with pytest.raises(ValueError, match="lr must be at most"):
        trainer.set_lr(1e100)


def test_history_records_every_n_steps(stacked_dataset):
    model = KAN([1, 1, 1], seed=0)
    trainer = Trainer(model, stacked_dataset, record_every=4)

    trainer.step(10)

    history = trainer.history
    assert history["step"] == [0, 4, 8]
    for key in ("train_loss", "test_loss", "train_rmse", "test_rmse", "wall_time", "grad_norms"):
        assert len(history[key]) == 3, key
    assert history["test_rmse"][-1] == pytest.approx(math.sqrt(history["test_loss"][-1]))
    assert history["wall_time"] == sorted(history["wall_time"])
    assert history["grad_norms"][-1][0] > 0


def test_history_layer_ranges_match_data(stacked_dataset):
    model = KAN([1, 1, 1], seed=0)
    trainer = Trainer(model, stacked_dataset)

    ranges = trainer.history["layer_ranges"][0]

    inputs = trainer.train_input
    assert ranges[0]["min"] == [inputs.min().item()]
    assert ranges[0]["max"] == [inputs.max().item()]
    assert ranges[0]["grid_min"] == [-1.0]
    assert ranges[0]["grid_max"] == [1.0]
    hidden = model.layers[0](inputs)
    assert ranges[1]["min"] == [hidden.min().item()]


def test_no_records_when_record_every_is_zero(stacked_dataset):
    trainer = Trainer(KAN([1, 1, 1]), stacked_dataset, record_every=0)

    report = trainer.step(5)

    assert trainer.history["step"] == []
    assert report.test_loss is None
    assert math.isfinite(report.train_loss)


def test_minibatches_are_seeded(two_input_dataset):
    def train(seed):
        model = KAN([2, 2, 1], seed=0)
        trainer = Trainer(model, two_input_dataset, batch_size=32, seed=seed, record_every=0)
        trainer.step(12)
        return model.layers[0].coef.detach().clone()

    assert torch.equal(train(5), train(5))
    assert not torch.equal(train(5), train(6))


def test_early_stopping_restores_best(stacked_dataset):
    model = KAN([1, 1, 1], seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="sgd", lr=1e-9, patience=3, min_delta=1e-3)
    initial = [p.detach().clone() for p in model.parameters()]

    report = trainer.step(50)

    assert report.stopped_early
    assert report.steps_run == 3
    assert "has not improved for 3 records" in report.message
    assert "Restored the parameters of step 0." in report.message
    assert all(torch.equal(a, b) for a, b in zip(initial, model.parameters()))


def test_callback_can_stop_a_slice(stacked_dataset):
    calls = []

    def callback(trainer, report):
        calls.append(report.step)
        return report.step < 3

    trainer = Trainer(KAN([1, 1, 1]), stacked_dataset, record_every=1)
    trainer.callback = callback

    report = trainer.step(10)

    assert report.steps_run == 3
    assert calls == [1, 2, 3]


def test_regularizer_is_added_to_loss(stacked_dataset):
    def shrink(model, x):
        return 10.0 * sum(layer.coef.pow(2).sum() for layer in model.layers)

    plain = KAN([1, 1, 1], seed=0)
    regularized = KAN([1, 1, 1], seed=0)
    Trainer(plain, stacked_dataset, lr=0.01, record_every=0).step(30)
    trainer = Trainer(regularized, stacked_dataset, lr=0.01, regularizer=shrink)

    report = trainer.step(30)

    assert trainer.history["regularization"][-1] > 0
    assert report.train_loss > trainer.history["train_loss"][-2]
    plain_norm = sum(layer.coef.norm() for layer in plain.layers)
    regularized_norm = sum(layer.coef.norm() for layer in regularized.layers)
    assert regularized_norm < plain_norm


def test_refine_between_steps_keeps_training(stacked_dataset):
    model = KAN([1, 1, 1], grid_size=5, seed=0)
    trainer = Trainer(model, stacked_dataset, optimizer="adam", lr=0.01)
    trainer.step(20)
    before = trainer.history["train_loss"][-1]

    refine(model, 10, samples=trainer.train_input)
    report = trainer.step(20)

    assert not report.stopped
    assert model.layers[0].coef.shape == (1, 1, 13)
    assert trainer.optimizer.state[model.layers[0].coef]["exp_avg"].shape == (1, 1, 13)
    assert trainer.history["train_loss"][-1] < before


def test_step_rejects_negative_count(stacked_dataset):
    trainer = Trainer(KAN([1, 1, 1]), stacked_dataset)
    with pytest.raises(ValueError, match="n must be >= 0, got -1"):
        trainer.step(-1)


def test_dataset_must_fit_model(two_input_dataset):
    with pytest.raises(ValueError, match="the model takes 1 inputs, the data has 2"):
        Trainer(KAN([1, 1, 1]), two_input_dataset)


def test_unknown_optimizer_raises(stacked_dataset):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        Trainer(KAN([1, 1, 1]), stacked_dataset, optimizer="rmsprop")
