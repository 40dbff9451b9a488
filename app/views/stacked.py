"""Stacked-splines page: a [1, 1, ..., 1] KAN trains live beside an MLP of the same size.

Reading order: title, introduction, settings, the Play/Pause/Step/Reset row, the live
charts (inside the training fragment), and the chain-rule explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from kan_core.limits import LIMITS
from kan_core.model import KAN, MLP, MLP_ACTIVATIONS, match_mlp_width
from kan_core.training import OPTIMIZERS, Trainer
from ui import controls
from ui.figures.common import PLOTLY_CONFIG
from ui.figures.training import (
    LayerCurve,
    grad_norm_figure,
    history_ranges,
    layers_figure,
    loss_figure,
    prediction_figure,
)
from ui.live_training import LiveTraining
from ui.target_picker import TargetChoice, build_dataset, target_picker

DEFAULT_TARGET = "sin_pi_exp_x"
DTYPE = torch.float64
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
CURVE_POINTS = 160
PREDICTION_POINTS = 200
# The activation charts always show this much beyond each grid end (as a fraction of the
# grid width), and more when the layer's inputs reach further, up to MAX_CURVE_MARGIN.
MIN_CURVE_MARGIN = 0.15
MAX_CURVE_MARGIN = 1.5

# Live training of both models. Its context is the Settings the models were built with,
# which the charts describe, because the widgets may differ after a failed build.
LIVE = LiveTraining("st")


@dataclass(frozen=True)
class Settings:
    """Everything the widgets set. `signature` leaves out the learning rate."""

    target: TargetChoice
    noise: float
    n_samples: int
    test_fraction: float
    seed: int
    depth: int
    grid_sizes: tuple[int, ...]
    grid_ranges: tuple[tuple[float, float], ...]
    degree: int
    residual_base: bool
    trainable_scales: bool
    mlp_activation: str
    optimizer: str
    lr: float

    @property
    def signature(self) -> tuple:
        """Settings that define the data, the models and the optimizer. A change starts over."""
        return (
            self.target.identity, self.noise, self.n_samples, self.test_fraction, self.seed,
            self.depth, self.grid_sizes, self.grid_ranges, self.degree, self.residual_base,
            self.trainable_scales, self.mlp_activation, self.optimizer,
        )


def _data_settings() -> dict:
    target = target_picker("st", 1, default=DEFAULT_TARGET)
    # Uploaded rows are the samples themselves, so noise and sample count do not apply.
    uploaded = target.samples is not None
    noise = controls.noise_slider("st_noise", disabled=uploaded)
    n_samples = st.slider(
        "Samples", min_value=20, max_value=1000, value=200, step=10, key="st_samples",
        bind=controls.BIND, disabled=uploaded,
        help="Number of samples drawn from the target, train and test together. Uploaded data "
        "uses its own rows instead.",
    )
    test_fraction = st.slider(
        "Test share", min_value=0.1, max_value=0.5, value=0.2, step=0.05, key="st_test_share",
        bind=controls.BIND, help="Fraction of the samples held out to measure the test loss.",
    )
    seed = controls.seed_input("st_seed", label="Seed (data and initial weights)")
    return {
        "target": target, "noise": noise, "n_samples": n_samples,
        "test_fraction": test_fraction, "seed": seed,
    }


def _network_settings() -> dict:
    depth = st.slider(
        "Depth (KAN layers)", min_value=1, max_value=6, value=3, step=1, key="st_depth",
        bind=controls.BIND,
        help="Number of stacked splines in the [1, 1, ..., 1] KAN. The MLP gets as many hidden layers.",
    )
    degree = st.slider(
        "Degree k", min_value=1, max_value=LIMITS.max_degree, value=3, step=1, key="st_degree",
        bind=controls.BIND,
        help="Polynomial degree of each spline piece (KAN papers call it the order). "
        "Degree 0 is left out because its splines have zero slope and pass no gradient.",
    )
    residual_base = st.checkbox(
        "Residual base b(x) = SiLU(x)", value=True, key="st_base", bind=controls.BIND,
        help="Add a SiLU term to every activation, so an input outside the grid still passes a signal.",
    )
    trainable_scales = st.checkbox(
        "Trainable scales", value=True, key="st_scales", bind=controls.BIND,
        help="Train the weights of the base and spline terms. When off, they keep their initial values.",
    )
    mlp_activation = st.selectbox(
        "MLP activation", list(MLP_ACTIVATIONS), key="st_mlp_activation", bind=controls.BIND,
        help="Nonlinearity after each hidden layer of the MLP.",
    )
    return {
        "depth": depth, "degree": degree, "residual_base": residual_base,
        "trainable_scales": trainable_scales, "mlp_activation": mlp_activation,
    }


def _training_settings() -> dict:
    optimizer = st.selectbox(
        "Optimizer", list(OPTIMIZERS), key="st_optimizer", bind=controls.BIND,
        format_func=lambda name: {"adam": "Adam", "sgd": "SGD", "lbfgs": "LBFGS"}[name],
        help="Changing it starts over. One LBFGS step runs up to 20 inner iterations.",
    )
    lr = st.select_slider(
        "Learning rate", options=LEARNING_RATES, value=1e-2, key="st_lr", bind=controls.BIND,
        format_func=lambda value: f"{value:g}",
        help="Step size of the optimizer. It changes without a restart. Try 1 for LBFGS.",
    )
    return {"optimizer": optimizer, "lr": float(lr)}


def _layer_grid_settings(depth: int) -> dict:
    st.markdown("**Grid of each layer** (size G and range)")
    sizes, ranges = [], []
    for index, column in enumerate(st.columns(depth)):
        with column:
            sizes.append(controls.grid_size_slider(
                f"st_grid_size_{index + 1}", max_value=50, label=f"Layer {index + 1}: G"
            ))
            ranges.append(controls.grid_range_slider(
                f"st_grid_range_{index + 1}", label=f"Layer {index + 1}: range"
            ))
    return {"grid_sizes": tuple(sizes), "grid_ranges": tuple(ranges)}


def _settings() -> Settings:
    data_column, network_column, training_column = st.columns(3, gap="large")
    with data_column:
        st.markdown("**Data**")
        data = _data_settings()
    with network_column:
        st.markdown("**Networks**")
        network = _network_settings()
    with training_column:
        st.markdown("**Training**")
        training = _training_settings()
    grids = _layer_grid_settings(network["depth"])
    return Settings(**data, **network, **training, **grids)


def _check(settings: Settings) -> str | None:
    for index, (lower, upper) in enumerate(settings.grid_ranges):
        if not lower < upper:
            return (
                f"The grid range of layer {index + 1} is empty ({lower:g} to {upper:g}). "
                "Move its handles apart."
            )
    return None


def _build(settings: Settings) -> dict[str, Trainer]:
    dataset = build_dataset(
        settings.target, settings.n_samples, noise=settings.noise,
        test_fraction=settings.test_fraction, seed=settings.seed, dtype=DTYPE,
    )
    kan = KAN(
        [1] * (settings.depth + 1),
        grid_size=list(settings.grid_sizes),
        degree=settings.degree,
        grid_range=[list(pair) for pair in settings.grid_ranges],
        base_activation="silu" if settings.residual_base else None,
        trainable_scales=settings.trainable_scales,
        dtype=DTYPE,
        seed=settings.seed,
    )
    width = match_mlp_width(kan.parameter_count(), settings.depth)
    mlp = MLP(
        [1] + [width] * settings.depth + [1], activation=settings.mlp_activation,
        dtype=DTYPE, seed=settings.seed,
    )
    # LBFGS steps are few and slow, so each one is recorded.
    record_every = 1 if settings.optimizer == "lbfgs" else 5
    return {
        name: Trainer(
            model, dataset, optimizer=settings.optimizer, lr=settings.lr, seed=settings.seed,
            record_every=record_every,
        )
        for name, model in (("KAN", kan), ("MLP", mlp))
    }


def _show(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, width="stretch")


def _layer_curves(kan: KAN, ranges_now: list[dict]) -> list[LayerCurve]:
    curves = []
    for layer, ranges in zip(kan.layers, ranges_now):
        grid_min, grid_max = float(layer.grid[0, 0]), float(layer.grid[0, -1])
        input_min, input_max = ranges["min"][0], ranges["max"][0]
        # Widen the plotted interval until it covers the inputs, within the cap.
        width = grid_max - grid_min
        reach = max((grid_min - input_min) / width, (input_max - grid_max) / width)
        margin = min(max(MIN_CURVE_MARGIN, reach + 0.05), MAX_CURVE_MARGIN)
        x, parts = layer.edge_curves(CURVE_POINTS, margin=margin)
        base = parts["base"][:, 0, 0].numpy() if layer.base_activation is not None else None
        curves.append(LayerCurve(
            x=x[:, 0].numpy(),
            total=parts["total"][:, 0, 0].numpy(),
            base=base,
            knots=layer.knots[0].numpy(),
            grid_range=(grid_min, grid_max),
            input_range=(input_min, input_max),
        ))
    return curves


def _outside_notes(curves: list[LayerCurve], residual_base: bool) -> None:
    consequence = (
        "There only the residual base carries the signal."
        if residual_base
        else "There those layers output 0 and pass no gradient back."
    )
    spans = [
        f"x{index} spans {curve.input_range[0]:.3g} to {curve.input_range[1]:.3g}, beyond "
        f"layer {index + 1}'s grid [{curve.grid_range[0]:g}, {curve.grid_range[1]:g}]"
        for index, curve in enumerate(curves)
        if curve.outside
    ]
    if not spans:
        return
    st.warning(
        f"Hidden values left their grid: {'; '.join(spans)}. {consequence} "
        "Widen those grid ranges to cover the values.",
        icon=":material/warning:",
    )


def _render_results(trainers: dict[str, Trainer]) -> None:
    settings: Settings = LIVE.context
    kan_trainer, mlp_trainer = trainers["KAN"], trainers["MLP"]
    kan, mlp = kan_trainer.model, mlp_trainer.model
    choice = settings.target

    # Predictions are drawn on an even grid over the sampling domain. Uploaded data has no
    # noise-free target to draw.
    lower, upper = choice.domain[0]
    x = torch.linspace(lower, upper, PREDICTION_POINTS, dtype=DTYPE)[:, None]
    with torch.no_grad():
        target_y = None if choice.target is None else choice.target(x)[:, 0].numpy()
        kan_y = kan(x)[:, 0].numpy()
        mlp_y = mlp(x)[:, 0].numpy()

    histories = {"KAN": kan_trainer.history, "MLP": mlp_trainer.history}
    loss_column, prediction_column = st.columns(2)
    with loss_column:
        _show(loss_figure(histories, uirevision=f"st-loss-{LIVE.generation}"), "st_loss_chart")
    with prediction_column:
        _show(
            prediction_figure(
                x[:, 0].numpy(), target_y, {"KAN": kan_y, "MLP": mlp_y},
                train=(kan_trainer.train_input.numpy(), kan_trainer.train_label.numpy()),
                test=(kan_trainer.test_input.numpy(), kan_trainer.test_label.numpy()),
                target_label=f"target {choice.label}", uirevision=f"st-prediction-{choice.identity}",
            ),
            "st_prediction_chart",
        )


def _render_inside(trainers: dict[str, Trainer]) -> None:
    settings: Settings = LIVE.context
    kan_trainer, mlp_trainer = trainers["KAN"], trainers["MLP"]
    kan, mlp = kan_trainer.model, mlp_trainer.model

    ranges_now = kan_trainer.history["layer_ranges"][-1]
    curves = _layer_curves(kan, ranges_now)
    ranges = [history_ranges(kan_trainer.history, index) for index in range(len(kan.layers))]
    st.markdown(
        "**Inside the KAN.** Top: each layer's activation over its grid (shaded), with its "
        "knots and the span of the values it receives. Bottom: that span over training "
        "against the grid ends."
    )
    _show(layers_figure(curves, ranges, uirevision=f"st-layers-{LIVE.generation}"), "st_layers_chart")
    _outside_notes(curves, settings.residual_base)

    gradient_column, count_column = st.columns([2, 1])
    with gradient_column:
        _show(
            grad_norm_figure(kan_trainer.history, uirevision=f"st-gradients-{LIVE.generation}"),
            "st_gradient_chart",
        )
    with count_column:
        st.metric("KAN parameters", kan.parameter_count())
        hidden = mlp.widths[1]
        st.metric(
            "MLP parameters", mlp.parameter_count(),
            help=f"{settings.depth} hidden layers of {hidden} units, the width whose count is closest to the KAN's.",
        )
        st.caption(f"MLP widths {mlp.widths}, KAN widths {kan.widths}.")


CHAIN_RULE = r"""
\frac{\partial L}{\partial c_{l,i}}
= \underbrace{\frac{\partial L}{\partial x_L}}_{\text{loss}}
\;\underbrace{\prod_{m=l+1}^{L} \phi_m'(x_{m-1})}_{\text{later layers}}
\;\underbrace{w_{s,l}\, B_i(x_{l-1})}_{\text{this spline}},
\qquad
\phi'(x) = w_b\, b'(x) + w_s \sum_i c_i\, B_i'(x)
"""


def _explanation() -> None:
    st.subheader("Why backpropagation works through stacked splines")
    st.markdown(
        r"""
Each layer computes $x_l = \phi_l(x_{l-1})$ with
$\phi(x) = w_b\, b(x) + w_s \sum_i c_i B_i(x)$: a residual base $b$ (SiLU) plus a B-spline
with coefficients $c_i$, weighted by the scales $w_b$ and $w_s$. A spline is a polynomial
on each grid interval, so it has a derivative almost everywhere, and the chain rule
multiplies those derivatives from the loss back to any coefficient:
"""
    )
    st.latex(CHAIN_RULE)
    st.markdown(
        r"""
Only samples whose $x_{l-1}$ falls where $B_i$ is non-zero contribute to the gradient of
$c_{l,i}$, so every update changes the curve locally. The product in the middle is why
depth is delicate. If one later layer is flat where its inputs fall, $\phi_m' = 0$ there and
nothing reaches the layers before it. A spline of degree $k = 0$ is piecewise constant,
so $B_i' = 0$ and only the base could pass a gradient back, which is why the degree here
starts at 1.

**Why hidden values leave their grid.** The grid of layer $l$ is fixed, say $[-1, 1]$,
but its input $x_{l-1}$ is the output of the layer before, and training moves that
output anywhere. Outside the extended knots every $B_i$ and every $B_i'$ is zero, so
without a base the layer returns a constant 0 there and $\phi' = 0$: the signal and the
gradient both stop.

**How the residual base and the scales fix it.** With the base on, $\phi'(x) = w_b b'(x)$
outside the grid, and SiLU's slope is non-zero there, so values that drift off the grid
still carry information forward and gradient backward. The trainable scales let each
layer weigh the smooth base against the detailed spline. Turn the base off, set the depth
to 6 and press Step a few times: wherever a hidden value has left its grid, the KAN's
prediction turns flat, because those samples get a constant output and no gradient.
Widening the grid range, or refining the grid during training (Grids page), keeps the
values inside.
"""
    )


st.title("Stacked splines")
st.markdown(
    "A KAN of shape [1, 1, ..., 1] is a chain of one-dimensional splines: each layer feeds "
    "one number to the next. Press **Play** to watch it learn a target live, next to an "
    "MLP with about as many parameters trained on the same samples. Then look inside: "
    "where each spline bends, where its inputs fall, and how the gradient reaches every layer."
)

LIVE.init_state()
with st.expander("Settings", expanded=True, icon=":material/tune:"):
    settings = _settings()

problem = _check(settings)
if problem is not None:
    st.error(problem, icon=":material/error:")
else:
    try:
        LIVE.sync(settings.signature, lambda: _build(settings), lr=settings.lr, context=settings)
    except ValueError as err:
        reason = str(err).rstrip(".")
        st.error(
            f"These settings could not build the models: {reason}. Change them and try again.",
            icon=":material/error:",
        )

if LIVE.trainers:
    LIVE.buttons()
    LIVE.run(_render_results, details=_render_inside)
_explanation()
