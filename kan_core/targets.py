"""Target functions and seeded data sets that every page trains or fits on.

A `Target` maps inputs of shape ``(batch, n_inputs)`` to outputs of shape ``(batch, 1)`` with
torch operations, so it works in any dtype. `TARGETS` maps keys to the presets; the keys must
not change because shared links contain them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from kan_core.limits import LIMITS, check_samples

__all__ = [
    "MIN_FINITE_FRACTION",
    "Target",
    "Dataset",
    "TARGETS",
    "targets_with_inputs",
    "make_dataset",
    "dataset_from_samples",
    "sample_inputs",
]

# A target defined on less than a quarter of the sampling box is rejected, so the reader picks
# a range where the function exists. log x on [-1, 1], defined on half of it, is accepted.
MIN_FINITE_FRACTION = 0.25


@dataclass(frozen=True)
class Target:
    """A function to learn.

    Attributes
    ----------
    key : str
        Stable identifier used in URLs.
    label : str
        Plain-text name for menus, such as ``"sin(pi x)"``.
    latex : str
        The formula in LaTeX, without dollar signs.
    n_inputs : int
    fn : callable
        Maps a tensor (batch, n_inputs) to a tensor (batch, 1).
    domain : tuple of (float, float)
        Default sampling range of each input.
    """

    key: str
    label: str
    latex: str
    n_inputs: int
    fn: Callable[[torch.Tensor], torch.Tensor]
    domain: tuple[tuple[float, float], ...]

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.fn(inputs)


@dataclass(frozen=True)
class Dataset:
    """Train and test samples of one target.

    Attributes
    ----------
    train_input, test_input : Tensor, shape (n_train, d) and (n_test, d)
    train_label, test_label : Tensor, shape (n_train, 1) and (n_test, 1)
    """

    train_input: torch.Tensor
    train_label: torch.Tensor
    test_input: torch.Tensor
    test_label: torch.Tensor
    dropped: int = 0
    """Number of sampled points dropped because the target was not finite there."""

    def to(self, dtype: torch.dtype) -> Dataset:
        """Return a copy with every tensor converted to ``dtype``."""
        return Dataset(
            self.train_input.to(dtype),
            self.train_label.to(dtype),
            self.test_input.to(dtype),
            self.test_label.to(dtype),
            self.dropped,
        )


def _column(inputs: torch.Tensor, index: int) -> torch.Tensor:
    return inputs[:, index : index + 1]


def _step(inputs: torch.Tensor) -> torch.Tensor:
    x = _column(inputs, 0)
    return (x >= 0).to(inputs.dtype)


_PRESETS = [
    Target("sin_pi_x", "sin(pi x)", r"\sin(\pi x)", 1,
           lambda v: torch.sin(math.pi * _column(v, 0)), ((-1.0, 1.0),)),
    Target("sin_pi_exp_x", "sin(pi e^x)", r"\sin(\pi e^{x})", 1,
           lambda v: torch.sin(math.pi * torch.exp(_column(v, 0))), ((-1.0, 1.0),)),
    Target("exp_sin_rational", "exp(sin(pi x) + x^2) + 1/(1 + x^2)",
           r"e^{\sin(\pi x) + x^2} + \frac{1}{1 + x^2}", 1,
           lambda v: torch.exp(torch.sin(math.pi * _column(v, 0)) + _column(v, 0) ** 2)
           + 1 / (1 + _column(v, 0) ** 2),
           ((-1.0, 1.0),)),
    Target("exp_sin_pi_x", "exp(sin(pi x))", r"e^{\sin(\pi x)}", 1,
           lambda v: torch.exp(torch.sin(math.pi * _column(v, 0))), ((-1.0, 1.0),)),
    Target("abs_x", "|x|", r"|x|", 1, lambda v: torch.abs(_column(v, 0)), ((-1.0, 1.0),)),
    Target("step", "step at 0", r"\mathbb{1}[x \ge 0]", 1, _step, ((-1.0, 1.0),)),
    Target("exp_sin_pi_x_y2", "exp(sin(pi x) + y^2)", r"e^{\sin(\pi x) + y^2}", 2,
           lambda v: torch.exp(torch.sin(math.pi * _column(v, 0)) + _column(v, 1) ** 2),
           ((-1.0, 1.0), (-1.0, 1.0))),
    Target("exp_sin_pi_x_y_shift", "exp(sin(pi x) + (y + 0.5)^2)",
           r"e^{\sin(\pi x) + (y + 0.5)^2}", 2,
           lambda v: torch.exp(torch.sin(math.pi * _column(v, 0)) + (_column(v, 1) + 0.5) ** 2),
           ((-1.0, 1.0), (-1.0, 1.0))),
    Target("x_times_y", "x * y", r"x y", 2,
           lambda v: _column(v, 0) * _column(v, 1), ((-1.0, 1.0), (-1.0, 1.0))),
    Target("x_over_y", "x / y", r"\frac{x}{y}", 2,
           lambda v: _column(v, 0) / _column(v, 1), ((-1.0, 1.0), (1.0, 2.0))),
    Target("sin_x_cos_y", "sin(x) + cos(y)", r"\sin(x) + \cos(y)", 2,
           lambda v: torch.sin(_column(v, 0)) + torch.cos(_column(v, 1)),
           ((-2.0, 2.0), (-2.0, 2.0))),
]

TARGETS: dict[str, Target] = {target.key: target for target in _PRESETS}


def targets_with_inputs(n_inputs: int) -> dict[str, Target]:
    """Return the presets that take exactly ``n_inputs`` inputs, in menu order."""
    return {key: target for key, target in TARGETS.items() if target.n_inputs == n_inputs}


def sample_inputs(
    n_samples: int,
    ranges: Sequence[Sequence[float]],
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Draw inputs uniformly from a box.

    Parameters
    ----------
    n_samples : int
    ranges : sequence of (lower, upper), one pair per input
    generator : torch.Generator
    dtype : torch.dtype

    Returns
    -------
    Tensor, shape (n_samples, len(ranges))
    """
    bounds = torch.tensor([list(pair) for pair in ranges], dtype=dtype)
    if bounds.ndim != 2 or bounds.shape[1] != 2:
        raise ValueError(f"ranges must be pairs (lower, upper), got {list(ranges)}")
    if not (bounds[:, 0] < bounds[:, 1]).all():
        raise ValueError(f"each range must have lower < upper, got {bounds.tolist()}")
    unit = torch.rand(n_samples, bounds.shape[0], generator=generator, dtype=dtype)
    return bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])


def make_dataset(
    target: Target,
    n_samples: int,
    noise: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    ranges: Sequence[Sequence[float]] | None = None,
) -> Dataset:
    """Sample a target uniformly on its domain and split the samples into train and test.

    Parameters
    ----------
    target : Target
    n_samples : int
        Total number of samples, train and test together; at least 2.
    noise : float
        Standard deviation of Gaussian noise added to the train and test labels.
    test_fraction : float
        Share of samples held out for testing, strictly between 0 and 1.
    seed : int
        Seed of the generator that draws inputs and noise.
    dtype : torch.dtype
    ranges : sequence of (lower, upper), optional
        Sampling box; defaults to ``target.domain``.

    Returns
    -------
    Dataset
        At least one train and one test sample. Points where the target is NaN or infinite
        (log x at x <= 0, 1/x at 0) are dropped and counted in ``dropped``.

    Raises
    ------
    ValueError
        For invalid arguments, more samples than ``LIMITS.max_samples``, or when the target
        is finite at fewer than ``MIN_FINITE_FRACTION`` of the samples or at fewer than 2.
    """
    check_samples(n_samples)
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if noise < 0 or not math.isfinite(noise):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    ranges = target.domain if ranges is None else ranges
    if len(ranges) != target.n_inputs:
        raise ValueError(
            f"target {target.key!r} takes {target.n_inputs} inputs, got {len(ranges)} ranges"
        )

    generator = torch.Generator().manual_seed(seed)
    inputs = sample_inputs(n_samples, ranges, generator, dtype)
    labels = target(inputs)
    if noise > 0:
        labels = labels + noise * torch.randn(labels.shape, generator=generator, dtype=dtype)

    finite = torch.isfinite(labels).all(dim=1)
    n_finite = int(finite.sum())
    if n_finite < 2 or n_finite < MIN_FINITE_FRACTION * n_samples:
        raise ValueError(
            f"the target is finite at only {n_finite} of {n_samples} sample points; "
            "choose an input range where it is defined"
        )
    inputs, labels = inputs[finite], labels[finite]

    n_train = n_finite - _test_count(n_finite, test_fraction)
    return Dataset(
        inputs[:n_train],
        labels[:n_train],
        inputs[n_train:],
        labels[n_train:],
        dropped=n_samples - n_finite,
    )


def _test_count(n_samples: int, test_fraction: float) -> int:
    # At least one sample on each side, so both losses are defined.
    return min(max(1, round(n_samples * test_fraction)), n_samples - 1)


def dataset_from_samples(
    inputs: torch.Tensor,
    labels: torch.Tensor,
    test_fraction: float = 0.2,
    seed: int = 0,
    max_samples: int = LIMITS.max_samples,
) -> Dataset:
    """Shuffle given samples, such as the rows of an uploaded table, and split them.

    Parameters
    ----------
    inputs : Tensor, shape (n, d)
    labels : Tensor, shape (n, 1)
    test_fraction : float
        Share of samples held out for testing, strictly between 0 and 1.
    seed : int
        Seed of the shuffle.
    max_samples : int
        Rows beyond this many are left out after the shuffle, which keeps a random subset.

    Returns
    -------
    Dataset
        ``dropped`` counts the rows left out by ``max_samples``.
    """
    if inputs.ndim != 2:
        raise ValueError(f"inputs must have shape (n, d), got {tuple(inputs.shape)}")
    if labels.shape != (inputs.shape[0], 1):
        raise ValueError(
            f"labels must have shape ({inputs.shape[0]}, 1) to match inputs, got {tuple(labels.shape)}"
        )
    if inputs.shape[0] < 2:
        raise ValueError(f"at least 2 samples are needed, got {inputs.shape[0]}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")

    n_total = inputs.shape[0]
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n_total, generator=generator)[:max_samples]
    inputs, labels = inputs[order], labels[order]
    n_train = len(order) - _test_count(len(order), test_fraction)
    return Dataset(
        inputs[:n_train],
        labels[:n_train],
        inputs[n_train:],
        labels[n_train:],
        dropped=n_total - len(order),
    )
