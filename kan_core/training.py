"""Step-wise training of KANs and MLPs, built for live pages that train a slice per frame.

`Trainer.step(n)` runs n updates and returns a `StepReport`. The trainer records a history
(losses, per-layer input ranges against the grid ranges, gradient norms, wall time) every
``record_every`` updates, guards against divergence, stops early on a stalled test loss, and
reports through a callback. It never prints.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.adam import adam

from kan_core.fused import FirstLayerCache, mse_with_gradients
from kan_core.limits import check_steps
from kan_core.model import KAN

__all__ = ["Trainer", "StepReport", "OPTIMIZERS", "DEFAULT_LR"]

OPTIMIZERS = ("adam", "sgd", "lbfgs")

DEFAULT_LR = {"adam": 1e-2, "sgd": 1e-1, "lbfgs": 1.0}

LBFGS_HISTORY = 10
"""Curvature pairs LBFGS keeps; pykan 0.2.8's fit uses 10 (torch's default is 100, and each
pair costs two dot products per inner iteration)."""

HISTORY_KEYS = (
    "step",
    "train_loss",
    "test_loss",
    "train_rmse",
    "test_rmse",
    "regularization",
    "layer_ranges",
    "grad_norms",
    "wall_time",
)


@dataclass
class StepReport:
    """Outcome of one call of `Trainer.step`.

    Attributes
    ----------
    step : int
        Updates done since the trainer was built, after this call.
    steps_run : int
        Updates run by this call.
    train_loss : float
        Objective (MSE plus regularization) of the last update's batch. nan if none ran.
    test_loss : float or None
        Test MSE of the last history record, None if nothing was recorded yet.
    diverged : bool
        The loss or a parameter became inf or nan, and the last finite parameters are back.
    stopped_early : bool
        The test loss stopped improving for ``patience`` records.
    message : str
        One plain sentence for the user when training stopped, else "".
    wall_time : float
        Seconds spent in this call.
    """

    step: int
    steps_run: int
    train_loss: float
    test_loss: float | None
    diverged: bool = False
    stopped_early: bool = False
    message: str = ""
    wall_time: float = 0.0

    @property
    def stopped(self) -> bool:
        """True when training stopped and `Trainer.resume` is needed to go on."""
        return self.diverged or self.stopped_early


def _layer_groups(model: nn.Module) -> list[nn.Module]:
    # KAN has .layers; an MLP is a Sequential whose Linear modules are its layers.
    if hasattr(model, "layers"):
        return list(model.layers)
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


class Trainer:
    """Train a model on a `kan_core.targets.Dataset` a few updates at a time.

    Parameters
    ----------
    model : nn.Module
        A `kan_core.model.KAN` or `kan_core.model.MLP` (any module mapping (batch, d) to
        (batch, out) works, but only a KAN gets layer ranges in the history).
    dataset : Dataset
        Has ``train_input`` (n_train, d), ``train_label`` (n_train, out), ``test_input`` and
        ``test_label``, converted once to the model's dtype. The train/test split is the
        dataset's.
    optimizer : {"adam", "sgd", "lbfgs"}
        LBFGS uses ``line_search_fn="strong_wolfe"``, and one update is one
        ``optimizer.step(closure)`` call with up to ``max_iter`` inner iterations.
    lr : float or None
        Learning rate. None takes `DEFAULT_LR` of the optimizer.
    batch_size : int or None
        Mini-batch size. None or a size >= n_train trains on the full batch. Batches walk
        through a fresh permutation of the training set each epoch, drawn from ``seed``.
    seed : int
    regularizer : callable(model, x) -> scalar Tensor, or None
        Added to the MSE of every batch ``x`` (batch, d) before the backward pass.
    callback : callable(trainer, report) or None
        Called after every history record and when training stops. Returning False stops the
        current `step` call after that update.
    record_every : int
        Record the history every this many updates, >= 0. 0 records nothing (benchmarks).
        Early stopping is checked at records only.
    max_iter : int
        Inner iterations of one LBFGS update (pykan's default is 20 too).
    patience : int or None
        Stop after this many records without a test-loss improvement larger than
        ``min_delta``. None never stops early.
    min_delta : float
    restore_best : bool
        When stopping early, load the parameters of the best record.

    Notes
    -----
    Adam runs with ``fused=True`` and, after its first update, through the functional
    ``torch.optim.adam.adam`` (same arithmetic, less per-step bookkeeping). A KAN without regularizer or symbolic edges gets its
    gradients from the hand-written backward pass of `kan_core.fused` instead of autograd
    (same values, tested to 1e-12), because autograd's fixed cost per step dominated small
    networks. On the full batch that pass reuses the first layer's B-spline basis while the
    training inputs and the layer's knots stay the same (`kan_core.fused.FirstLayerCache`).
    Each update copies the parameters into a snapshot first, which is what the
    divergence guard restores. The wall time in the history counts only time spent inside
    `step`, recording included.
    """

    def __init__(
        self,
        model: nn.Module,
        dataset,
        optimizer: str = "adam",
        lr: float | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        regularizer: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
        callback: Callable[["Trainer", StepReport], bool | None] | None = None,
        record_every: int = 1,
        max_iter: int = 20,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        lr = DEFAULT_LR[optimizer] if lr is None else lr
        self.model = model
        _check_lr(lr, self._dtype())
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 or None, got {batch_size}")
        if record_every < 0:
            raise ValueError(f"record_every must be >= 0, got {record_every}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be at least 1, got {max_iter}")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be at least 1 or None, got {patience}")

        self.optimizer_name = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.regularizer = regularizer
        self.callback = callback
        self.record_every = record_every
        self.max_iter = max_iter
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.generator = torch.Generator().manual_seed(seed)

        self.step_count = 0
        self.wall_time = 0.0
        self.history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
        self.stop_message = ""
        self._stopped_kind: str | None = None
        self._best_test = math.inf
        self._best_step = 0
        self._best_state: dict | None = None
        self._records_since_best = 0
        self._order: torch.Tensor | None = None
        self._cursor = 0
        self._call_started = self._clock = time.perf_counter()
        self._fused: list | None = None
        self._first_layer_cache = FirstLayerCache()

        self.set_dataset(dataset)
        self._build_optimizer()
        if record_every > 0:
            self._record(math.nan)
            self.history["wall_time"][0] = self.wall_time = 0.0

    # ----------------------------------------------------------------- setup

    def _dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    def set_dataset(self, dataset) -> None:
        """Train on another dataset from the next update on; history and optimizer stay.

        Raises
        ------
        ValueError
            If the inputs or labels do not fit the model's widths.
        """
        dtype = self._dtype()
        tensors = [
            dataset.train_input, dataset.train_label, dataset.test_input, dataset.test_label
        ]
        train_x, train_y, test_x, test_y = (t.to(dtype) for t in tensors)
        widths = getattr(self.model, "widths", None)
        if train_x.ndim != 2 or train_y.ndim != 2:
            raise ValueError(
                "train_input and train_label must be 2-D (samples, features), got shapes "
                f"{tuple(train_x.shape)} and {tuple(train_y.shape)}"
            )
        if train_x.shape[0] != train_y.shape[0]:
            raise ValueError(
                f"train_input has {train_x.shape[0]} samples but train_label has {train_y.shape[0]}"
            )
        if train_x.shape[0] == 0:
            raise ValueError("the training set is empty; sample at least one point")
        if widths is not None and train_x.shape[1] != widths[0]:
            raise ValueError(f"the model takes {widths[0]} inputs, the data has {train_x.shape[1]}")
        if widths is not None and train_y.shape[1] != widths[-1]:
            raise ValueError(
                f"the model has {widths[-1]} outputs, the labels have {train_y.shape[1]}"
            )

        self.train_input, self.train_label = train_x, train_y
        self.test_input, self.test_label = test_x, test_y
        self._order = None
        self._cursor = 0

    def _build_optimizer(self) -> None:
        self._adam_cache = None
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        if self.optimizer_name == "adam":
            self.optimizer = torch.optim.Adam(self._params, lr=self.lr, fused=True)
        elif self.optimizer_name == "sgd":
            self.optimizer = torch.optim.SGD(self._params, lr=self.lr)
        else:
            self.optimizer = torch.optim.LBFGS(
                self._params,
                lr=self.lr,
                max_iter=self.max_iter,
                history_size=LBFGS_HISTORY,
                line_search_fn="strong_wolfe",
            )
        self._snapshot = [p.detach().clone() for p in self._params]
        self._snapshot_step = self.step_count
        self._signature = self._param_signature()

    def _param_signature(self) -> tuple:
        return tuple((id(p), tuple(p.shape)) for p in self.model.parameters() if p.requires_grad)

    def _sync_with_model(self) -> None:
        # set_grid changes a coefficient tensor's shape in place, and other code may swap
        # parameters or freeze them. Adam keeps per-parameter moments, which must match.
        signature = self._param_signature()
        if signature == self._signature:
            return
        old_ids = [entry[0] for entry in self._signature]
        new_ids = [entry[0] for entry in signature]
        if old_ids != new_ids or self.optimizer_name == "lbfgs":
            self._build_optimizer()
        else:
            for param, old in zip(self._params, self._snapshot):
                if param.shape != old.shape:
                    self.optimizer.state.pop(param, None)
            self._adam_cache = None
            self._snapshot = [p.detach().clone() for p in self._params]
            self._snapshot_step = self.step_count
            self._signature = signature
        self._best_state = None
        self._best_test = math.inf

    def set_lr(self, lr: float) -> None:
        """Change the learning rate; optimizer state, history and the step count stay."""
        _check_lr(lr, self._dtype())
        self.lr = lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def resume(self) -> None:
        """Allow `step` to run again after divergence or early stopping."""
        self._stopped_kind = None
        self.stop_message = ""
        self._records_since_best = 0

    @property
    def stopped(self) -> bool:
        """True after divergence or early stopping, until `resume` is called."""
        return self._stopped_kind is not None

    # ----------------------------------------------------------------- batches

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        n_train = self.train_input.shape[0]
        if self.batch_size is None or self.batch_size >= n_train:
            return self.train_input, self.train_label
        if self._order is None or self._cursor + self.batch_size > n_train:
            self._order = torch.randperm(n_train, generator=self.generator)
            self._cursor = 0
        index = self._order[self._cursor : self._cursor + self.batch_size]
        self._cursor += self.batch_size
        return self.train_input[index], self.train_label[index]

    def _objective(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = F.mse_loss(self.model(x), y)
        if self.regularizer is not None:
            loss = loss + self.regularizer(self.model, x)
        return loss

    def _fused_arguments(self) -> list | None:
        # A plain KAN without regularizer or symbolic edges takes the hand-written backward
        # pass of kan_core.fused, which skips autograd and gives the same gradients. The
        # decision is made once per step() call and after every callback, because only the
        # caller can change the model in between.
        if self.regularizer is not None or not isinstance(self.model, KAN):
            return None
        layers = self.model.layers
        if any(layer.has_symbolic_edges() for layer in layers):
            return None
        return [layer.fused_arguments() for layer in layers]

    def _objective_and_gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        for param in self._params:
            param.grad = None
        if self._fused is not None:
            # Mini-batches are new tensors on every step, which would only miss the cache.
            cache = self._first_layer_cache if x is self.train_input else None
            return mse_with_gradients(x, y, self._fused, cache)
        loss = self._objective(x, y)
        loss.backward()
        return loss

    # ----------------------------------------------------------------- training

    def step(self, n: int = 1) -> StepReport:
        """Run up to ``n`` updates and return what happened.

        Returns early when training diverges, stops early or the callback returns False. After
        divergence or early stopping, further calls run nothing until `resume` is called.

        Parameters
        ----------
        n : int
            Number of updates, >= 0.

        Returns
        -------
        StepReport
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n > 0:
            # One call is one slice of a live page, so the per-session cap bounds its length.
            check_steps(n)
        self._call_started = self._clock = time.perf_counter()
        if self.stopped:
            return self._report(0, math.nan)
        self._sync_with_model()
        self._fused = self._fused_arguments()

        loss_value = math.nan
        for done in range(n):
            x, y = self._next_batch()
            if self.optimizer_name == "lbfgs":
                loss_value = self._lbfgs_update(x, y)
            else:
                loss_value = self._gradient_update(x, y)
            if self.stopped:
                return self._report(done, loss_value)
            self.step_count += 1

            if self.record_every and self.step_count % self.record_every == 0:
                keep_going = self._record(loss_value)
                if self.stopped or keep_going is False:
                    return self._report(done + 1, loss_value)
                self._sync_with_model()
                self._fused = self._fused_arguments()

        if not self._parameters_finite():
            self._diverge(loss_value, "a parameter became inf or nan")
        return self._report(n, loss_value)

    def _tick(self) -> None:
        # Wall time counts only time spent inside step(), not the pauses between calls.
        now = time.perf_counter()
        self.wall_time += now - self._clock
        self._clock = now

    def _gradient_update(self, x: torch.Tensor, y: torch.Tensor) -> float:
        value = self._objective_and_gradients(x, y).item()
        if not math.isfinite(value):
            self._diverge(value, f"the loss became {value}")
            return value

        # The current parameters gave a finite loss: keep them before the update moves them.
        self._take_snapshot()
        if self.optimizer_name == "adam":
            self._adam_update()
        else:
            self.optimizer.step()
        return value

    def _adam_update(self) -> None:
        # Call torch.optim.adam.adam, the functional form that Adam.step itself calls, with
        # cached state lists. That skips the bookkeeping of Optimizer.step (hooks, profiler
        # ranges, per-parameter state lookups), which cost as much as the update in small
        # networks. The first update, and any update after the set of parameters with
        # gradients changed, goes through optimizer.step() and rebuilds the cache.
        cache = self._adam_cache
        with_grad = sum(p.grad is not None for p in self._params)
        if cache is None or with_grad != len(cache[0]):
            self.optimizer.step()
            self._adam_cache = self._build_adam_cache()
            return
        params, exp_avgs, exp_avg_sqs, steps = cache
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        adam(
            params,
            [p.grad for p in params],
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            fused=True,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
        )

    def _build_adam_cache(self) -> tuple | None:
        params = [p for p in self._params if p.grad is not None]
        states = [self.optimizer.state.get(p, {}) for p in params]
        if not all("exp_avg" in state for state in states):
            return None
        return (
            params,
            [state["exp_avg"] for state in states],
            [state["exp_avg_sq"] for state in states],
            [state["step"] for state in states],
        )

    def _lbfgs_update(self, x: torch.Tensor, y: torch.Tensor) -> float:
        def closure() -> torch.Tensor:
            return self._objective_and_gradients(x, y)

        # LBFGS evaluates many points per update, so check the result once at the end.
        self._take_snapshot()
        value = self.optimizer.step(closure).detach().item()
        if not math.isfinite(value):
            self._diverge(value, f"the loss became {value}")
        elif not self._parameters_finite():
            self._diverge(value, "a parameter became inf or nan")
        return value

    @torch.no_grad()
    def _take_snapshot(self) -> None:
        torch._foreach_copy_(self._snapshot, self._params)
        self._snapshot_step = self.step_count

    def _parameters_finite(self) -> bool:
        # One check over all parameters at once; a call per tensor costs more than the test.
        flat = torch.cat([p.detach().reshape(-1) for p in self._params])
        return bool(torch.isfinite(flat).all())

    def _diverge(self, value: float, reason: str) -> None:
        # The snapshot contains the last parameters whose loss was finite (one update back).
        with torch.no_grad():
            torch._foreach_copy_([p.detach() for p in self._params], self._snapshot)
        self.optimizer.state.clear()  # moments and LBFGS history may contain inf or nan
        self._adam_cache = None
        failed_step = self.step_count + 1
        self.step_count = self._snapshot_step
        self._truncate_history(self.step_count)
        self._stopped_kind = "diverged"
        self.stop_message = (
            f"Training stopped at step {failed_step}: {reason}. Restored the parameters of step "
            f"{self.step_count}. Lower the learning rate (now {self.lr:g}), then resume."
        )
        if self.callback is not None:
            self.callback(self, self._report(0, value))

    def _truncate_history(self, last_step: int) -> None:
        steps = self.history["step"]
        keep = len(steps)
        while keep > 0 and steps[keep - 1] > last_step:
            keep -= 1
        for key in HISTORY_KEYS:
            del self.history[key][keep:]

    # ----------------------------------------------------------------- history

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Compute the full train and test MSE of the current model."""
        train = F.mse_loss(self.model(self.train_input), self.train_label).item()
        test = F.mse_loss(self.model(self.test_input), self.test_label).item()
        return {"train_loss": train, "test_loss": test}

    def layer_ranges(self) -> list[dict[str, list[float]]]:
        """Measure each KAN layer's input range on the training inputs against its grid.

        Returns
        -------
        list of dict, one per layer
            ``min``, ``max``: range of the layer's inputs per feature; ``grid_min``,
            ``grid_max``: ends of each feature's grid. Empty for models without grids.
        """
        ranges = []
        x = self.train_input
        with torch.no_grad():
            for layer in _layer_groups(self.model):
                if not hasattr(layer, "grid"):
                    return []
                ranges.append({
                    "min": x.min(dim=0).values.tolist(),
                    "max": x.max(dim=0).values.tolist(),
                    "grid_min": layer.grid[:, 0].tolist(),
                    "grid_max": layer.grid[:, -1].tolist(),
                })
                x = layer(x)
        return ranges

    def _grad_norms(self) -> list[float]:
        norms = []
        for layer in _layer_groups(self.model):
            grads = [p.grad for p in layer.parameters() if p.grad is not None]
            total = sum(float(g.pow(2).sum()) for g in grads)
            norms.append(math.sqrt(total))
        return norms

    def _record(self, loss_value: float) -> bool | None:
        self._tick()
        losses = self.evaluate()
        regularization = 0.0
        if self.regularizer is not None:
            with torch.no_grad():
                regularization = float(self.regularizer(self.model, self.train_input))
        entry = {
            "step": self.step_count,
            "train_loss": losses["train_loss"],
            "test_loss": losses["test_loss"],
            "train_rmse": math.sqrt(losses["train_loss"]),
            "test_rmse": math.sqrt(losses["test_loss"]),
            "regularization": regularization,
            "layer_ranges": self.layer_ranges(),
            "grad_norms": self._grad_norms(),
            "wall_time": self.wall_time,
        }
        for key in HISTORY_KEYS:
            self.history[key].append(entry[key])

        self._check_early_stopping(losses["test_loss"])
        if self.callback is None:
            return None
        return self.callback(self, self._report(0, loss_value))

    def _check_early_stopping(self, test_loss: float) -> None:
        if test_loss < self._best_test - self.min_delta:
            self._best_test = test_loss
            self._best_step = self.step_count
            self._records_since_best = 0
            if self.patience is not None and self.restore_best:
                self._best_state = copy.deepcopy(self.model.state_dict())
            return
        self._records_since_best += 1
        if self.patience is None or self._records_since_best < self.patience:
            return

        self._stopped_kind = "early"
        restored = ""
        if self.restore_best and self._best_state is not None:
            self.model.load_state_dict(self._best_state)
            restored = f" Restored the parameters of step {self._best_step}."
        self.stop_message = (
            f"Stopped early at step {self.step_count}: the test loss has not improved for "
            f"{self.patience} records (best {self._best_test:.3g} at step {self._best_step})."
            + restored
        )

    def _report(self, steps_run: int, loss_value: float) -> StepReport:
        self._tick()
        test = self.history["test_loss"][-1] if self.history["test_loss"] else None
        return StepReport(
            step=self.step_count,
            steps_run=steps_run,
            train_loss=loss_value,
            test_loss=test,
            diverged=self._stopped_kind == "diverged",
            stopped_early=self._stopped_kind == "early",
            message=self.stop_message,
            wall_time=self._clock - self._call_started,
        )


def _check_lr(lr: float, dtype: torch.dtype) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr must be a number, got {type(lr).__name__}")
    if not math.isfinite(lr):
        raise ValueError(f"lr must be finite, got {lr}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if lr > torch.finfo(dtype).max:
        raise ValueError(f"lr must be at most {torch.finfo(dtype).max:g} for {dtype}, got {lr:g}")
