"""AppTest checks of the Stacked-splines page and its figure builders.

AppTest does not fire ``run_every`` timers, so these tests drive training with the Step
button. A click on Play trains for one tick, because the fragment runs once per script run.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from kan_core.limits import LIMITS

PAGE = "views/stacked.py"
TRAINERS = "st_live_trainers"
PLAYING = "st_live_playing"
CLICK_STEPS = 10
# Non-LBFGS trainers record the history every 5 updates, plus one record at step 0.
RECORD_EVERY = 5


def _kan(app):
    return app.session_state[TRAINERS]["KAN"]


def _mlp(app):
    return app.session_state[TRAINERS]["MLP"]


def _step(app, clicks: int = 1):
    for _ in range(clicks):
        app.button(key="st_step").click().run()
    return app


def _metric(app, label: str) -> str:
    return next(metric.value for metric in app.metric if metric.label == label)


@pytest.fixture
def stacked(open_page):
    """The page opened with its defaults, before any training."""
    app = open_page(PAGE)
    assert not app.exception
    return app


def test_page_runs_and_draws_charts(stacked):
    assert [title.value for title in stacked.title] == ["Stacked splines"]
    chart_keys = {chart.proto.id for chart in stacked.get("plotly_chart")}
    assert len(chart_keys) == 4
    assert _metric(stacked, "Step") == "0"
    assert not stacked.warning
    assert stacked.latex


def test_models_have_matching_parameter_counts(stacked):
    kan, mlp = _kan(stacked).model, _mlp(stacked).model

    # Defaults: depth 3, G = 5, k = 3 and trainable scales, so each of the 3 edges has
    # G + k = 8 coefficients and 2 scales.
    assert kan.widths == [1, 1, 1, 1]
    assert kan.parameter_count() == 30
    assert len(mlp.widths) == 5
    assert abs(mlp.parameter_count() - kan.parameter_count()) <= 0.25 * kan.parameter_count()
    assert _metric(stacked, "KAN parameters") == "30"


def test_step_advances_iteration_and_history(stacked):
    _step(stacked)

    assert not stacked.exception
    assert _kan(stacked).step_count == CLICK_STEPS
    assert _mlp(stacked).step_count == CLICK_STEPS
    assert _kan(stacked).history["step"] == [0, 5, 10]
    assert len(_mlp(stacked).history["train_loss"]) == 1 + CLICK_STEPS // RECORD_EVERY
    assert _metric(stacked, "Step") == str(CLICK_STEPS)


def test_steps_lower_the_kan_loss(stacked):
    _step(stacked, clicks=6)

    losses = _kan(stacked).history["train_loss"]
    assert _kan(stacked).step_count == 6 * CLICK_STEPS
    assert losses[-1] < 0.5 * losses[0]


def test_reset_clears_history(stacked):
    _step(stacked, clicks=2)
    assert _kan(stacked).step_count == 2 * CLICK_STEPS
    generation = stacked.session_state["st_live_generation"]

    stacked.button(key="st_reset").click().run()

    assert not stacked.exception
    assert _kan(stacked).step_count == 0
    assert _kan(stacked).history["step"] == [0]
    assert _mlp(stacked).history["step"] == [0]
    assert _metric(stacked, "Step") == "0"
    # A new generation gives the charts a new uirevision, which drops the old zoom.
    assert stacked.session_state["st_live_generation"] == generation + 1


def test_reset_rebuilds_same_initial_model(stacked):
    initial = [p.detach().clone() for p in _kan(stacked).model.parameters()]
    _step(stacked)

    stacked.button(key="st_reset").click().run()

    for before, after in zip(initial, _kan(stacked).model.parameters()):
        torch.testing.assert_close(after.detach(), before, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("widget", "value", "check"),
    [
        ("st_depth", 2, lambda kan: kan.widths == [1, 1, 1]),
        ("st_grid_size_1", 8, lambda kan: kan.layers[0].grid_size == 8),
        ("st_degree", 2, lambda kan: kan.degree == 2),
    ],
)
def test_architecture_change_resets(stacked, widget, value, check):
    _step(stacked)
    old_trainer = _kan(stacked)

    stacked.slider(key=widget).set_value(value).run()

    assert not stacked.exception
    assert _kan(stacked) is not old_trainer
    assert _kan(stacked).step_count == 0
    assert _kan(stacked).history["step"] == [0]
    assert check(_kan(stacked).model)


def test_depth_change_while_playing_restarts(stacked):
    stacked.button(key="st_play").click().run()
    old_trainer = _kan(stacked)
    assert old_trainer.step_count > 0

    stacked.slider(key="st_depth").set_value(5).run()

    assert not stacked.exception
    assert stacked.session_state[PLAYING] is True
    assert _kan(stacked) is not old_trainer
    assert _kan(stacked).model.widths == [1] * 6
    assert _kan(stacked).history["step"][0] == 0
    assert _kan(stacked).step_count <= LIMITS.max_steps_per_tick


def test_base_toggle_resets_without_base(stacked):
    _step(stacked)

    stacked.checkbox(key="st_base").uncheck().run()

    assert _kan(stacked).step_count == 0
    assert all(layer.base_activation is None for layer in _kan(stacked).model.layers)


def test_learning_rate_change_keeps_training(stacked):
    _step(stacked)
    trainer = _kan(stacked)
    history_length = len(trainer.history["step"])

    stacked.select_slider(key="st_lr").set_value(0.1).run()

    assert not stacked.exception
    assert _kan(stacked) is trainer
    assert trainer.step_count == CLICK_STEPS
    assert len(trainer.history["step"]) == history_length
    assert trainer.lr == 0.1
    assert [group["lr"] for group in trainer.optimizer.param_groups] == [0.1]
    assert _mlp(stacked).optimizer.param_groups[0]["lr"] == 0.1


def test_query_params_set_widgets(open_page):
    app = open_page(
        PAGE,
        {
            "st_depth": "4",
            "st_degree": "2",
            "st_grid_size_2": "9",
            "st_base": "false",
            "st_optimizer": "SGD",
            "st_lr": "0.1",
            "st_seed": "7",
        },
    )

    assert not app.exception
    assert app.slider(key="st_depth").value == 4
    assert app.slider(key="st_degree").value == 2
    assert app.slider(key="st_grid_size_2").value == 9
    assert app.checkbox(key="st_base").value is False
    assert app.selectbox(key="st_optimizer").value == "sgd"
    assert app.select_slider(key="st_lr").value == 0.1
    assert app.number_input(key="st_seed").value == 7

    kan = _kan(app).model
    assert kan.widths == [1, 1, 1, 1, 1]
    assert [layer.grid_size for layer in kan.layers] == [5, 9, 5, 5]
    assert _kan(app).optimizer_name == "sgd"


def test_lbfgs_step_runs_fewer_updates(open_page):
    app = open_page(PAGE, {"st_optimizer": "LBFGS", "st_lr": "1"})

    _step(app)

    assert not app.exception
    trainer = _kan(app)
    assert trainer.optimizer_name == "lbfgs"
    assert trainer.step_count == 2
    assert trainer.history["step"] == [0, 1, 2]
    assert trainer.history["train_loss"][-1] < 0.1 * trainer.history["train_loss"][0]


def test_divergence_warns_and_keeps_model(open_page):
    app = open_page(PAGE, {"st_optimizer": "SGD", "st_lr": "10"})

    _step(app)

    assert not app.exception
    trainer = _kan(app)
    warnings = [warning.value for warning in app.warning]
    assert any(text.startswith("KAN: Training stopped at step") for text in warnings)
    assert app.session_state[PLAYING] is False
    assert trainer.stopped
    assert 0 < trainer.step_count < CLICK_STEPS
    assert trainer.history["step"][-1] <= trainer.step_count
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_divergence_while_playing_pauses(open_page):
    app = open_page(PAGE, {"st_optimizer": "SGD", "st_lr": "10"})

    app.button(key="st_play").click().run()

    assert not app.exception
    assert app.session_state[PLAYING] is False
    assert app.button(key="st_play").disabled is False
    assert app.button(key="st_pause").disabled is True
    assert any(warning.value.startswith("KAN: Training stopped") for warning in app.warning)
    assert _kan(app).history["step"][0] == 0


def test_play_trains_one_tick_and_pause_stops(stacked):
    stacked.button(key="st_play").click().run()

    assert not stacked.exception
    assert stacked.session_state[PLAYING] is True
    played = _kan(stacked).step_count
    assert played > 0

    stacked.button(key="st_pause").click().run()
    stacked.run()

    assert stacked.session_state[PLAYING] is False
    assert _kan(stacked).step_count == played


def test_failed_build_keeps_previous_model(stacked, monkeypatch):
    import kan_core.model

    def reject(*args, **kwargs):
        raise ValueError("target_params must be at least 1, got 0.")

    _step(stacked)
    trainer = _kan(stacked)
    monkeypatch.setattr(kan_core.model, "match_mlp_width", reject)

    stacked.slider(key="st_depth").set_value(2).run()

    assert not stacked.exception
    message = stacked.error[0].value
    assert message == (
        "These settings could not build the models: target_params must be at least 1, "
        "got 0. Change them and try again."
    )
    assert _kan(stacked) is trainer
    assert trainer.step_count == CLICK_STEPS
    assert stacked.get("plotly_chart")


def test_empty_grid_range_keeps_previous_model(stacked):
    _step(stacked)
    trainer = _kan(stacked)

    stacked.slider(key="st_grid_range_2").set_value((0.5, 0.5)).run()

    assert not stacked.exception
    assert "grid range of layer 2 is empty" in stacked.error[0].value
    assert _kan(stacked) is trainer
    assert trainer.step_count == CLICK_STEPS


def _limited_live_app():
    # A one-layer KAN under a controller that stops at 12 steps, run as its own script.
    from kan_core.model import KAN
    from kan_core.targets import TARGETS, make_dataset
    from kan_core.training import Trainer
    from ui.live_training import LiveTraining

    live = LiveTraining("lt", max_steps=12, click_steps=10, tick_budget=5.0)
    live.init_state()
    dataset = make_dataset(TARGETS["sin_pi_x"], 50)
    live.sync("fixed", lambda: {"KAN": Trainer(KAN([1, 1]), dataset)})
    live.buttons()
    live.run(lambda trainers: None)


def test_step_limit_pauses_playing():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_limited_live_app, default_timeout=60)
    app.run()

    app.button(key="lt_play").click().run()

    assert not app.exception
    assert app.session_state["lt_live_trainers"]["KAN"].step_count == 12
    assert app.session_state["lt_live_playing"] is False
    assert "limit of 12 steps" in app.info[0].value

    app.button(key="lt_play").click().run()

    assert app.session_state["lt_live_trainers"]["KAN"].step_count == 12
    assert app.session_state["lt_live_playing"] is False


# ----------------------------------------------------------------- figure builders


def _validated(fig: go.Figure) -> go.Figure:
    # The builders skip Plotly's validation for speed. Rebuilding with it on catches typos.
    go.Figure(fig.to_dict())
    return fig


def _history(steps: list[int]) -> dict:
    losses = [1.0 / (1 + index) for index in range(len(steps))]
    return {
        "step": steps,
        "train_loss": losses,
        "test_loss": [2 * value for value in losses],
        "grad_norms": [[0.0, 0.0]] + [[1.0, 0.5]] * (len(steps) - 1),
        "layer_ranges": [
            [
                {"min": [-1.0], "max": [1.0], "grid_min": [-1.0], "grid_max": [1.0]},
                {"min": [-0.2 * index], "max": [0.1], "grid_min": [-1.0], "grid_max": [1.0]},
            ]
            for index in range(len(steps))
        ],
    }


@pytest.mark.parametrize(("count", "max_points"), [(5, 10), (1000, 300), (301, 300), (2, 2)])
def test_thin_indices_keep_ends(count, max_points):
    from ui.figures.training import thin_indices

    keep = thin_indices(count, max_points)

    assert keep[0] == 0
    assert keep[-1] == count - 1
    assert len(keep) <= max_points
    assert np.all(np.diff(keep) > 0)


def test_loss_figure_plots_history_values():
    from ui.figures.training import loss_figure

    history = _history(list(range(0, 50, 5)))
    fig = _validated(loss_figure({"KAN": history, "MLP": history}, events=[(20, "refine")]))

    names = [trace.name for trace in fig.data]
    assert names == ["KAN train", "KAN test", "MLP train", "MLP test"]
    np.testing.assert_allclose(fig.data[1].y, history["test_loss"], rtol=1e-12)
    np.testing.assert_array_equal(fig.data[0].x, history["step"])
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.uirevision == "loss"
    assert fig.layout.shapes[0].x0 == 20


def test_loss_figure_thins_long_history():
    from ui.figures.training import loss_figure

    history = _history(list(range(2000)))
    fig = loss_figure({"KAN": history}, max_points=300)

    assert len(fig.data[0].x) == 300
    assert fig.data[0].x[-1] == 1999
    assert math.isclose(fig.data[0].y[-1], history["train_loss"][-1])


def test_prediction_figure_groups_traces():
    from ui.figures.training import prediction_figure

    x = np.linspace(-1, 1, 11)
    fig = _validated(prediction_figure(
        x, np.sin(x), {"KAN": x, "MLP": -x}, train=(x, x), test=(x[:3], x[:3]),
    ))

    groups = [trace.legendgroup for trace in fig.data]
    assert groups == ["samples", "samples", "target", "prediction", "prediction"]
    np.testing.assert_allclose(fig.data[4].y, -x)


def test_layers_figure_flags_values_off_grid():
    from ui.figures.training import LayerCurve, history_ranges, layers_figure

    history = _history(list(range(0, 50, 5)))
    x = np.linspace(-1.2, 1.2, 20)
    curves = [
        LayerCurve(x, x, None, np.linspace(-1.6, 1.6, 12), (-1.0, 1.0), (-1.0, 1.0)),
        LayerCurve(x, np.tanh(x), 0.5 * x, np.linspace(-1.6, 1.6, 12), (-1.0, 1.0), (-1.8, 0.1)),
    ]
    ranges = [history_ranges(history, layer) for layer in range(2)]
    fig = _validated(layers_figure(curves, ranges))

    titles = [annotation.text for annotation in fig.layout.annotations]
    assert "off grid" not in titles[0]
    assert "off grid" in titles[1]
    outside = [trace for trace in fig.data if trace.legendgroup == "outside"]
    assert len(outside[0].x) == 0
    # Layer 2's input min is -0.2 * record index, below -1 from record 6 on.
    np.testing.assert_array_equal(outside[1].x, history["step"][6:])
    assert len(fig.layout.shapes) == 2


def test_grad_norm_figure_one_trace_per_layer():
    from ui.figures.training import grad_norm_figure

    history = _history(list(range(0, 50, 5)))
    fig = _validated(grad_norm_figure(history))

    assert [trace.name for trace in fig.data] == ["layer 1", "layer 2"]
    # The first record has zero norms, which a log axis cannot show.
    assert np.isnan(fig.data[0].y[0])
    np.testing.assert_allclose(fig.data[1].y[1:], 0.5)
