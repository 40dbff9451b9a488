"""Tests of the target presets and seeded data sets."""

import math

import pytest
import torch

from kan_core.targets import (
    TARGETS,
    Target,
    dataset_from_samples,
    make_dataset,
    targets_with_inputs,
)


def test_presets_match_closed_forms():
    x = torch.tensor([[-0.5], [0.0], [0.25]], dtype=torch.float64)
    expected = {
        "sin_pi_x": torch.sin(math.pi * x),
        "sin_pi_exp_x": torch.sin(math.pi * torch.exp(x)),
        "exp_sin_rational": torch.exp(torch.sin(math.pi * x) + x**2) + 1 / (1 + x**2),
        "abs_x": x.abs(),
        "step": torch.tensor([[0.0], [1.0], [1.0]], dtype=torch.float64),
    }
    for key, values in expected.items():
        torch.testing.assert_close(TARGETS[key](x), values, rtol=0, atol=1e-15, msg=key)


def test_two_input_preset_matches_closed_form():
    v = torch.tensor([[0.5, -0.5], [-0.25, 1.0]], dtype=torch.float64)
    expected = torch.exp(torch.sin(math.pi * v[:, :1]) + v[:, 1:] ** 2)
    torch.testing.assert_close(TARGETS["exp_sin_pi_x_y2"](v), expected, rtol=0, atol=1e-15)


def test_targets_with_inputs_filters_by_arity():
    assert all(t.n_inputs == 1 for t in targets_with_inputs(1).values())
    assert "x_times_y" in targets_with_inputs(2)
    assert "x_times_y" not in targets_with_inputs(1)


def test_dataset_is_seeded_and_split():
    first = make_dataset(TARGETS["sin_pi_x"], 100, noise=0.1, test_fraction=0.25, seed=3)
    second = make_dataset(TARGETS["sin_pi_x"], 100, noise=0.1, test_fraction=0.25, seed=3)
    other = make_dataset(TARGETS["sin_pi_x"], 100, noise=0.1, test_fraction=0.25, seed=4)

    assert first.train_input.shape == (75, 1)
    assert first.test_label.shape == (25, 1)
    torch.testing.assert_close(first.train_label, second.train_label, rtol=0, atol=0)
    assert not torch.equal(first.train_input, other.train_input)


def test_dataset_noise_has_requested_scale():
    data = make_dataset(TARGETS["sin_pi_x"], 5000, noise=0.05, seed=0)
    residual = data.train_label - TARGETS["sin_pi_x"](data.train_input)
    assert abs(residual.std().item() - 0.05) < 0.002


def test_dataset_inputs_stay_in_range():
    data = make_dataset(TARGETS["x_over_y"], 500, seed=1)
    assert data.train_input[:, 1].min() >= 1.0
    assert data.train_input[:, 1].max() <= 2.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_samples": 1}, "n_samples must be at least 2, got 1"),
        ({"n_samples": 10, "test_fraction": 1.0}, "test_fraction must be between 0 and 1, got 1.0"),
        ({"n_samples": 10, "noise": -1.0}, "noise must be a finite number >= 0, got -1.0"),
        ({"n_samples": 10, "ranges": [(-1, 1), (0, 1)]}, "takes 1 inputs, got 2 ranges"),
    ],
)
def test_dataset_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_dataset(TARGETS["sin_pi_x"], **kwargs)


def test_dataset_drops_points_where_target_is_undefined():
    log_target = Target("log_x", "log(x)", r"\log x", 1, lambda v: torch.log(v), ((-0.5, 1.0),))

    data = make_dataset(log_target, 300, seed=2)

    n_kept = len(data.train_input) + len(data.test_input)
    assert data.dropped + n_kept == 300
    assert 50 < data.dropped < 150
    assert torch.isfinite(data.train_label).all()
    assert (data.train_input > 0).all()


def test_dataset_mostly_undefined_target_raises():
    log_target = Target("log_x", "log(x)", r"\log x", 1, lambda v: torch.log(v), ((-1.0, 0.1),))
    with pytest.raises(ValueError, match=r"finite at only \d+ of 200 sample points; choose an input range"):
        make_dataset(log_target, 200, seed=0)


def test_dataset_over_sample_limit_raises():
    with pytest.raises(ValueError, match="n_samples must be at most"):
        make_dataset(TARGETS["sin_pi_x"], 10**7)


def test_dataset_from_samples_shuffles_and_caps():
    inputs = torch.arange(100, dtype=torch.float64).unsqueeze(1)
    labels = 2 * inputs

    data = dataset_from_samples(inputs, labels, test_fraction=0.3, seed=1, max_samples=60)

    assert data.dropped == 40
    assert len(data.train_input) == 42
    assert len(data.test_input) == 18
    torch.testing.assert_close(data.train_label, 2 * data.train_input, rtol=0, atol=0)
    all_inputs = torch.cat([data.train_input, data.test_input])[:, 0]
    assert len(set(all_inputs.tolist())) == 60
    assert not torch.equal(all_inputs, torch.arange(60, dtype=torch.float64))


def test_dataset_from_samples_mismatched_labels_raise():
    with pytest.raises(ValueError, match=r"labels must have shape \(5, 1\)"):
        dataset_from_samples(torch.zeros(5, 1), torch.zeros(4, 1))
