"""AppTest checks of the Symbolic regression page: training, candidates, snaps, undo, formula.

Every test opens the page on a small network (widths 2, 3, 1 and 300 samples) so ranking
and Snap all stay quick, and reads the models from session state to check what a click did.
"""

from __future__ import annotations

import json

import pytest
import torch

from kan_core.pruning import node_scores

PAGE = "views/symbolic.py"
SMALL = {"sy_widths": "2, 3, 1", "sy_samples": "300"}
TRAINERS = "sy_live_trainers"
MAIN = "KAN"
SPLINE_BLUE = "#1c7ed6"
SYMBOLIC_GREEN = "#2f9e44"
PRUNED_GREY = "#adb5bd"


def _open(open_page, **params):
    app = open_page(PAGE, SMALL | {key: str(value) for key, value in params.items()}, timeout=180)
    assert not app.exception
    return app


def _model(app):
    return app.session_state[TRAINERS][MAIN].model


def _trainer(app):
    return app.session_state[TRAINERS][MAIN]


def _chart(app, trace_name: str) -> dict:
    # Charts are found by a trace they contain, since a snap adds a morph chart before them.
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if any(trace.get("name") == trace_name for trace in spec["data"]):
            return spec
    raise AssertionError(f"no chart with a trace named {trace_name!r}")


def _edge_boxes(spec: dict) -> list[dict]:
    # Edge boxes are the rectangles with a 2-pixel outline. The selected edge gets a wider one.
    return [shape for shape in spec["layout"]["shapes"] if shape["type"] == "rect" and shape["line"]["width"] == 2]


def _edge_box_color(spec: dict, edge_index: int) -> str:
    return _edge_boxes(spec)[edge_index]["line"]["color"]


def _state(model, layer: int, i: int, j: int) -> str:
    part = model.layers[layer]
    if float(part.symbolic_mask[i, j]) == 1.0:
        return "symbolic"
    if float(part.spline_mask[i, j]) == 1.0:
        return "spline"
    return "pruned"


def test_page_runs_without_exception(open_page):
    app = _open(open_page)

    assert not app.error
    network = _chart(app, "nodes")
    assert len(_edge_boxes(network)) == 2 * 3 + 3 * 1
    selected = [shape for shape in network["layout"]["shapes"] if shape["line"]["width"] == 4]
    assert len(selected) == 1
    # Curves share traces by state and opacity level (3 x 4), plus names, nodes and targets.
    assert len(network["data"]) <= 15
    assert _chart(app, "KAN train")
    assert _chart(app, "KAN never snapped train")


def test_step_trains(open_page):
    app = _open(open_page)
    first_loss = _trainer(app).history["test_loss"][0]

    app.button(key="sy_step").click().run()

    assert not app.exception
    assert _trainer(app).step_count == 20
    assert app.session_state[TRAINERS]["KAN never snapped"].step_count == 20
    assert _trainer(app).history["test_loss"][-1] < 0.5 * first_loss


def test_selecting_edge_shows_five_candidates(open_page):
    app = _open(open_page)
    edge_box = app.selectbox(key="sy_edge")

    edge_box.set_value((1, 2, 0)).run()

    assert not app.exception
    assert any("Edge h1.3 → f" in block.value for block in app.markdown)
    table = app.dataframe[0].value
    assert len(table) == 5
    assert list(table.columns[:4]) == ["rank", "function", "R²", "complexity"]
    assert set("abcd") <= set(table.columns)
    overlays = [t for t in _chart(app, "edge now (spline)")["data"]
                if t.get("legendgroup") == "candidates" and t.get("showlegend") is not False]
    assert len(overlays) == 5


def test_snap_edge_changes_state_and_colour(open_page):
    app = _open(open_page)
    app.button(key="sy_step").click().run()
    assert _edge_box_color(_chart(app, "nodes"), 0) == SPLINE_BLUE

    app.button(key="sy_snap").click().run()

    assert not app.exception
    assert _state(_model(app), 0, 0, 0) == "symbolic"
    assert _edge_box_color(_chart(app, "nodes"), 0) == SYMBOLIC_GREEN
    assert _state(_model(app), 0, 0, 1) == "spline"
    assert app.success and "is now" in app.success[0].value
    assert app.session_state["sy_state_events"][-1][0] == 20


def test_undo_restores_spline(open_page):
    app = _open(open_page)
    app.button(key="sy_step").click().run()
    inputs = _trainer(app).train_input
    with torch.no_grad():
        before = _model(app)(inputs).clone()

    app.button(key="sy_snap").click().run()
    with torch.no_grad():
        snapped = _model(app)(inputs).clone()
    app.button(key="sy_undo").click().run()

    assert not app.exception
    assert _state(_model(app), 0, 0, 0) == "spline"
    assert _edge_box_color(_chart(app, "nodes"), 0) == SPLINE_BLUE
    assert not torch.equal(snapped, before)
    with torch.no_grad():
        torch.testing.assert_close(_model(app)(inputs), before, rtol=0, atol=1e-12)


def test_formula_with_splines_warns(open_page):
    app = _open(open_page)
    masks = [layer.spline_mask.clone() for layer in _model(app).layers]

    app.button(key="sy_show_formula").click().run()

    assert not app.exception
    assert len(app.warning) == 1
    assert "still splines" in app.warning[0].value
    assert "Snap all" in app.warning[0].value
    assert not app.latex
    assert app.session_state["sy_state_formula_shown"] is False
    for layer, mask in zip(_model(app).layers, masks):
        assert torch.equal(layer.spline_mask, mask)


def test_undefined_function_error_changes_nothing(open_page):
    # log(1 * x + 0) is undefined for the negative inputs of edge x → h1.1.
    app = _open(open_page, sy_function="log")
    params = [p.detach().clone() for p in _model(app).parameters()]

    app.button(key="sy_snap_params").click().run()

    assert not app.exception
    assert len(app.error) == 1
    inputs = _trainer(app).train_input[:, 0]
    assert "log(1·x + 0) is undefined" in app.error[0].value
    assert f"from {float(inputs.min()):.3g} to {float(inputs.max()):.3g}" in app.error[0].value
    assert _state(_model(app), 0, 0, 0) == "spline"
    for old, new in zip(params, _model(app).parameters()):
        assert torch.equal(old, new)


def test_snap_all_then_formula_renders(open_page):
    app = _open(open_page, sy_threshold="0.5")
    app.button(key="sy_step").click().run()

    app.button(key="sy_snap_all").click().run()
    app.button(key="sy_show_formula").click().run()

    assert not app.exception
    assert not app.warning
    states = {_state(_model(app), layer, i, j) for layer, i, j in
              [(0, i, j) for i in range(2) for j in range(3)] + [(1, i, 0) for i in range(3)]}
    assert states == {"symbolic"}
    assert len(app.latex) == 1
    assert "f(x, y) \\approx" in app.latex[0].value
    formula_rmse, network_rmse = app.metric[-2], app.metric[-1]
    assert formula_rmse.label == "Test RMSE of the formula"
    assert network_rmse.label == "Test RMSE of the network now"
    # The formula is the snapped network with numbers rounded to 4 decimals, so the two
    # errors agree closely. A wrong composition would be far off.
    assert float(formula_rmse.value) == pytest.approx(float(network_rmse.value), rel=0.05)
    assert app.code and ("x" in app.code[0].value)


def test_prune_removes_weak_nodes(open_page):
    app = _open(open_page, sy_target="x * y", sy_prune_threshold="0.1")
    app.button(key="sy_step").click().run()
    incoming, outgoing = node_scores(_model(app), _trainer(app).train_input)[0]
    weak = {node for node in range(3) if incoming[node] < 0.1 or outgoing[node] < 0.1}
    assert 0 < len(weak) < 3

    app.button(key="sy_prune").click().run()

    assert not app.exception
    for node in range(3):
        expected = "pruned" if node in weak else "spline"
        assert _state(_model(app), 1, node, 0) == expected
        assert [_state(_model(app), 0, i, node) for i in range(2)] == [expected] * 2
    network = _chart(app, "nodes")
    assert [_edge_box_color(network, 6 + node) for node in range(3)] == [
        PRUNED_GREY if node in weak else SPLINE_BLUE for node in range(3)
    ]
    assert app.success and "Pruned" in app.success[0].value


def test_prune_below_threshold_warns(open_page):
    app = _open(open_page, sy_prune_threshold="0.001")
    app.button(key="sy_step").click().run()

    app.button(key="sy_prune").click().run()

    assert not app.exception
    assert len(app.warning) == 1
    assert "nothing was pruned" in app.warning[0].value
    assert app.session_state["sy_state_events"] == []


def test_invalid_widths_keep_model(open_page):
    app = _open(open_page)

    app.text_input(key="sy_widths").set_value("2, 50, 1").run()

    assert not app.exception
    assert len(app.error) == 1
    assert "between 1 and 6" in app.error[0].value
    assert _model(app).widths == [2, 3, 1]


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("sy_grid", "7", 7),
        ("sy_noise", "0.1", 0.1),
        ("sy_threshold", "0.9", 0.9),
        ("sy_weight", "2.0", 2.0),
    ],
)
def test_url_params_set_widgets(open_page, key, text, expected):
    app = _open(open_page, **{key: text})

    assert app.slider(key=key).value == pytest.approx(expected)


def test_url_params_select_edge_and_function(open_page):
    app = _open(open_page, sy_edge="h1.2 → f", sy_function="x^2")

    assert app.selectbox(key="sy_edge").value == (1, 1, 0)
    assert app.selectbox(key="sy_function").value == "x^2"
    assert any("Edge h1.2 → f" in block.value for block in app.markdown)


def test_url_params_set_model(open_page):
    app = _open(open_page, sy_grid="7", sy_compare="false", sy_lambda="0.01", sy_lr="0.003")

    assert app.text_input(key="sy_widths").value == "2, 3, 1"
    assert _model(app).widths == [2, 3, 1]
    assert _model(app).layers[0].grid_size == 7
    assert list(app.session_state[TRAINERS]) == [MAIN]
    assert _trainer(app).regularizer.strength == pytest.approx(0.01)
    assert _trainer(app).lr == pytest.approx(0.003)
