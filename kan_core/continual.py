"""Continual learning: a KAN and an MLP see the input domain one part at a time.

The domain [-1, 1] is split into adjacent phases. In phase p both models train only on samples
from phase p and never see earlier phases again. A B-spline coefficient only affects the k + 1
intervals of its support, so the coefficients of earlier phases receive zero gradient, and a
KAN without a base term and with frozen scales changes nothing far from the current phase. An
MLP's weights act on the whole domain, so fitting a new phase overwrites what it learned before
(catastrophic forgetting). The five Gaussian peaks follow the continual-learning toy example of
Liu et al., "KAN: Kolmogorov-Arnold Networks" (2024).

`ContinualRun` trains one phase per call to `next_phase`, and `run_continual` runs them all.
Both record each model's predictions over the whole domain after every phase and a forgetting
table: the RMSE on every phase seen so far, after each phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from kan_core.model import KAN, MLP

__all__ = [
    "ContinualTask",
    "PRESETS",
    "PhaseResult",
    "ContinualRun",
    "run_continual",
]


@dataclass(frozen=True)
class ContinualTask:
    """A 1-D target and the adjacent intervals that are shown one after another.

    Attributes
    ----------
    key : str
        Stable identifier used in URLs.
    label : str
        Plain-text name for menus.
    fn : callable
        Maps a tensor of shape (batch, 1) to (batch, 1).
    phases : tuple of (float, float)
        Adjacent intervals (lower, upper) in the order they are shown.
    """

    key: str
    label: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    phases: tuple[tuple[float, float], ...]

    @property
    def domain(self) -> tuple[float, float]:
        """The union of all phases."""
        return self.phases[0][0], self.phases[-1][1]


PEAK_CENTRES = (-0.8, -0.4, 0.0, 0.4, 0.8)


def _peaks(x: torch.Tensor) -> torch.Tensor:
    centres = torch.tensor(PEAK_CENTRES, dtype=x.dtype)
    return torch.exp(-300.0 * (x - centres) ** 2).sum(dim=1, keepdim=True)


def _adjacent_phases(count: int) -> tuple[tuple[float, float], ...]:
    width = 2.0 / count
    return tuple((-1.0 + p * width, -1.0 + (p + 1) * width) for p in range(count))


def _rising_sines(count: int) -> Callable[[torch.Tensor], torch.Tensor]:
    # Phase p has p + 1 full periods of a sine that is zero at both ends of the phase, so
    # the whole curve is continuous and its frequency rises from phase to phase.
    width = 2.0 / count

    def fn(x: torch.Tensor) -> torch.Tensor:
        phase = ((x + 1.0) / width).floor().clamp(0, count - 1)
        local = (x + 1.0) - phase * width
        return torch.sin(2 * math.pi * (phase + 1) * local / width)

    return fn


PRESETS: dict[str, ContinualTask] = {
    "peaks": ContinualTask(
        "peaks", "5 Gaussian peaks exp(-300 (x - c)^2)", _peaks,
        tuple((c - 0.2, c + 0.2) for c in PEAK_CENTRES),
    ),
    "sines3": ContinualTask("sines3", "sines of rising frequency, 3 phases",
                            _rising_sines(3), _adjacent_phases(3)),
    "sines5": ContinualTask("sines5", "sines of rising frequency, 5 phases",
                            _rising_sines(5), _adjacent_phases(5)),
}


@dataclass(frozen=True)
class PhaseResult:
    """Both models' predictions and errors after one phase.

    Attributes
    ----------
    phase : int
        Index of the phase just trained, from 0.
    kan_prediction, mlp_prediction : Tensor, shape (points,)
        Predictions on `ContinualRun.x_plot`.
    kan_rmse, mlp_rmse : list of float
        RMSE on the evaluation points of phases 0..phase, in order.
    kan_train_loss, mlp_train_loss : float
        Final training MSE on this phase's samples.
    """

    phase: int
    kan_prediction: torch.Tensor
    mlp_prediction: torch.Tensor
    kan_rmse: list[float]
    mlp_rmse: list[float]
    kan_train_loss: float
    mlp_train_loss: float


@dataclass
class ContinualRun:
    """Train a KAN and an MLP phase by phase on the same samples.

    Parameters
    ----------
    task : ContinualTask or str
        A task or a key of `PRESETS`.
    seed : int
        Seed of both models' initial weights and of the sample positions.
    samples_per_phase : int
        Training samples drawn uniformly inside each phase.
    steps_per_phase : int
        Optimizer steps per phase for each model. Each phase starts a fresh optimizer, so no
        momentum carries a previous phase's updates into the next one.
    lr : float
        Learning rate, shared by both models.
    grid_size : int
        Intervals of the KAN's grid on [-1, 1]. 200 gives about 7 intervals per standard
        deviation of a peak exp(-300 x^2), whose standard deviation is 1 / sqrt(600) = 0.041.
    mlp_widths : tuple of int
        Layer widths of the MLP, from 1 input to 1 output.
    mlp_activation : {"tanh", "relu", "silu"}
    optimizer : {"adam", "lbfgs"}
        "lbfgs" takes steps of at most 20 iterations with a strong Wolfe line search, with lr 1.
        NOTE: with "lbfgs" the KAN fits each phase almost exactly, which also moves the few
        coefficients whose support crosses into the previous phase. Its phase-1 RMSE then grew
        up to 1.5x over the peaks run (seeds 0 to 2), against no change with "adam".
    plot_points : int
        Number of evenly spaced points for predictions and phase RMSE.

    Attributes
    ----------
    kan : KAN
        [1, 1] KAN of degree 3 without base activation and with frozen scales, as in the
        continual-learning experiment of the KAN paper.
    mlp : MLP
    x_plot : Tensor, shape (plot_points,)
    target_plot : Tensor, shape (plot_points,)
    phase_inputs : list of Tensor, each of shape (samples_per_phase,)
        Training inputs of each phase.
    results : list of PhaseResult
        One entry per trained phase.
    """

    task: ContinualTask | str = "peaks"
    seed: int = 0
    samples_per_phase: int = 200
    steps_per_phase: int = 300
    lr: float = 0.02
    grid_size: int = 200
    mlp_widths: tuple[int, ...] = (1, 64, 64, 1)
    mlp_activation: str = "tanh"
    optimizer: str = "adam"
    plot_points: int = 1000
    results: list[PhaseResult] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if isinstance(self.task, str):
            if self.task not in PRESETS:
                raise ValueError(f"task must be one of {sorted(PRESETS)}, got {self.task!r}")
            self.task = PRESETS[self.task]
        for name in ("samples_per_phase", "steps_per_phase", "grid_size", "plot_points"):
            _check_positive_int(name, getattr(self, name))
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}")
        if self.mlp_widths[0] != 1 or self.mlp_widths[-1] != 1:
            raise ValueError(f"mlp_widths must start and end with 1, got {list(self.mlp_widths)}")

        dtype = torch.float64
        self.kan = KAN(
            [1, 1], grid_size=self.grid_size, degree=3, grid_range=self.task.domain,
            base_activation=None, trainable_scales=False, dtype=dtype, seed=self.seed,
        )
        self.mlp = MLP(list(self.mlp_widths), self.mlp_activation, dtype=dtype, seed=self.seed)

        generator = torch.Generator().manual_seed(self.seed)
        self.phase_inputs = []
        for lower, upper in self.task.phases:
            unit = torch.rand(self.samples_per_phase, generator=generator, dtype=dtype)
            self.phase_inputs.append(lower + (upper - lower) * unit)
        lower, upper = self.task.domain
        self.x_plot = torch.linspace(lower, upper, self.plot_points, dtype=dtype)
        self.target_plot = self.task.fn(self.x_plot[:, None])[:, 0]

    @property
    def n_phases(self) -> int:
        """Number of phases of the task."""
        return len(self.task.phases)

    @property
    def done(self) -> bool:
        """True once every phase has been trained."""
        return len(self.results) == self.n_phases

    def next_phase(self) -> PhaseResult:
        """Train both models on the next phase and evaluate them.

        Raises
        ------
        RuntimeError
            If every phase has been trained already.
        """
        if self.done:
            raise RuntimeError("every phase has been trained; create a new ContinualRun to restart")

        phase = len(self.results)
        x = self.phase_inputs[phase][:, None]
        y = self.task.fn(x)
        kan_loss = _train(self.kan, x, y, self.optimizer, self.steps_per_phase, self.lr)
        mlp_loss = _train(self.mlp, x, y, self.optimizer, self.steps_per_phase, self.lr)

        with torch.no_grad():
            kan_prediction = self.kan(self.x_plot[:, None])[:, 0]
            mlp_prediction = self.mlp(self.x_plot[:, None])[:, 0]
        result = PhaseResult(
            phase=phase,
            kan_prediction=kan_prediction,
            mlp_prediction=mlp_prediction,
            kan_rmse=[self._phase_rmse(kan_prediction, p) for p in range(phase + 1)],
            mlp_rmse=[self._phase_rmse(mlp_prediction, p) for p in range(phase + 1)],
            kan_train_loss=kan_loss,
            mlp_train_loss=mlp_loss,
        )
        self.results.append(result)
        return result

    def forgetting_table(self, model: str = "kan") -> list[list[float | None]]:
        """RMSE on phase j (column) after training phase i (row).

        Parameters
        ----------
        model : {"kan", "mlp"}

        Returns
        -------
        list of list of float or None
            One row per trained phase and one column per phase; entries for phases not yet
            seen (j > i) are None.
        """
        if model not in ("kan", "mlp"):
            raise ValueError(f"model must be 'kan' or 'mlp', got {model!r}")
        table = []
        for result in self.results:
            row = result.kan_rmse if model == "kan" else result.mlp_rmse
            table.append(list(row) + [None] * (self.n_phases - len(row)))
        return table

    def _phase_rmse(self, prediction: torch.Tensor, phase: int) -> float:
        lower, upper = self.task.phases[phase]
        inside = (self.x_plot >= lower) & (self.x_plot <= upper)
        error = prediction[inside] - self.target_plot[inside]
        return math.sqrt(torch.mean(error**2).item())


def run_continual(
    task: ContinualTask | str = "peaks",
    seed: int = 0,
    callback: Callable[[PhaseResult], None] | None = None,
    **options,
) -> ContinualRun:
    """Train every phase of a task; see `ContinualRun` for ``options``.

    Parameters
    ----------
    callback : callable, optional
        Called with each `PhaseResult` as soon as its phase is trained.

    Returns
    -------
    ContinualRun
        Finished, with ``results`` and `ContinualRun.forgetting_table`.
    """
    run = ContinualRun(task, seed, **options)
    while not run.done:
        result = run.next_phase()
        if callback is not None:
            callback(result)
    return run


def _train(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, name: str, steps: int, lr: float
) -> float:
    parameters = [p for p in model.parameters() if p.requires_grad]
    if name == "adam":
        optimizer = torch.optim.Adam(parameters, lr=lr)
    else:
        optimizer = torch.optim.LBFGS(
            parameters, lr=lr, max_iter=20, history_size=10, line_search_fn="strong_wolfe"
        )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    with torch.no_grad():
        return torch.mean((model(x) - y) ** 2).item()


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
