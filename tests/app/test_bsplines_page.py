"""AppTest checks of the B-splines page: what each control changes in the chart data."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

PAGE = "views/bsplines.py"
SECTIONS = ["Basis functions", "Knots", "Coefficients", "Fit a target"]


def _array(value) -> np.ndarray:
    # Plotly stores NumPy arrays in the JSON spec as {"dtype": ..., "bdata": base64}.
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


def _spec(app, index: int = 0) -> dict:
    return json.loads(app.get("plotly_chart")[index].proto.spec)


def _traces(app, group: str, index: int = 0) -> list[dict]:
    return [trace for trace in _spec(app, index)["data"] if trace.get("legendgroup") == group]


def _open(open_page, **params):
    app = open_page(PAGE, {key: str(value) for key, value in params.items()})
    assert not app.exception
    return app


@pytest.mark.parametrize("section, charts", list(zip(SECTIONS, [1, 1, 1, 2])))
def test_section_runs_without_exception(open_page, section, charts):
    app = _open(open_page, bs_section=section)

    assert not app.error
    assert len(app.get("plotly_chart")) == charts


@pytest.mark.parametrize(
    "grid_size, degree, extend, n_basis",
    [(5, 3, "true", 8), (7, 2, "true", 9), (4, 0, "true", 4), (10, 5, "true", 15),
     (7, 2, "false", 5), (5, 1, "false", 4)],
)
def test_basis_traces_match_grid(open_page, grid_size, degree, extend, n_basis):
    params = {"bs_grid_size": grid_size, "bs_degree": degree}
    if extend == "false":
        params["bs_extend"] = "false"
    app = _open(open_page, **params)

    assert len(_traces(app, "bases")) == n_basis
    knots = _array(_traces(app, "knots")[0]["x"])
    expected_knots = grid_size + 1 + (2 * degree if extend == "true" else 0)
    assert len(knots) == expected_knots


def test_basis_sum_is_one_on_domain(open_page):
    app = _open(open_page, bs_grid_size=6, bs_degree=3)
    total = _traces(app, "sum")[0]
    x, y = _array(total["x"]), _array(total["y"])

    inside = (x >= -1.0) & (x <= 1.0)
    np.testing.assert_allclose(y[inside], 1.0, atol=1e-12)
    # One interval (h = 1/3) beyond the domain only k of the k + 1 bases remain.
    assert y[x < -1.0 - 1 / 3].max() < 0.99
    assert y[x > 1.0 + 1 / 3].max() < 0.99


def test_nonzero_count_drops_without_extension(open_page):
    app = _open(open_page, bs_grid_size=8, bs_degree=3, bs_extend="false")
    count = _traces(app, "count")[0]
    x, y = _array(count["x"]), _array(count["y"])

    # Without extension only [t_3, t_5] = [-0.25, 0.25] is covered by k + 1 = 4 bases.
    assert y[(x > -0.24) & (x < 0.24)].min() == 4
    assert y[(x > -0.99) & (x < -0.76)].max() == 1


def test_degree_slider_changes_traces(open_page):
    app = _open(open_page)
    assert len(_traces(app, "bases")) == 8

    app.slider(key="bs_degree").set_value(1).run()

    assert not app.exception
    assert len(_traces(app, "bases")) == 6


def test_grid_size_slider_changes_traces(open_page):
    app = _open(open_page)

    app.slider(key="bs_grid_size").set_value(9).run()

    assert not app.exception
    assert len(_traces(app, "bases")) == 12


def test_query_params_set_controls(open_page):
    app = _open(open_page, bs_degree=2, bs_grid_size=7, bs_extend="false")

    assert app.slider(key="bs_degree").value == 2
    assert app.slider(key="bs_grid_size").value == 7
    assert app.checkbox(key="bs_extend").value is False
    assert len(_traces(app, "bases")) == 5


def test_coefficient_slider_changes_only_support(open_page):
    app = _open(open_page, bs_section="Coefficients", bs_coefs="0")
    before = _array(_traces(app, "curve")[0]["y"])
    np.testing.assert_allclose(before, 0.0, atol=1e-15)

    app.slider(key="bs_c3").set_value(1.5).run()

    assert not app.exception
    curve = _traces(app, "curve")[0]
    x, after = _array(curve["x"]), _array(curve["y"])
    # Extended knots of G = 5, k = 3 on [-1, 1] are -2.2, -1.8, ..., 2.2; N_3 lives on
    # [t_3, t_7] = [-1.0, 0.6], the only place the curve may change.
    outside = (x <= -1.0) | (x >= 0.6)
    np.testing.assert_allclose(after[outside], 0.0, atol=1e-12)
    assert after[~outside].max() > 0.5
    controls = _traces(app, "control")[0]
    np.testing.assert_allclose(_array(controls["y"]), [0, 0, 0, 1.5, 0, 0, 0, 0])
    assert app.text_input(key="bs_coefs").value == "0, 0, 0, 1.5, 0, 0, 0, 0"
    shaded = [shape for shape in _spec(app)["layout"]["shapes"] if shape["fillcolor"].startswith("rgba(232")]
    assert shaded[0]["x0"] == pytest.approx(-1.0)
    assert shaded[0]["x1"] == pytest.approx(0.6)


def test_randomise_and_zero_buttons(open_page):
    app = _open(open_page, bs_section="Coefficients")
    first_draw = _array(_traces(app, "control")[0]["y"])

    app.button(key="bs_randomise").click().run()
    second_draw = _array(_traces(app, "control")[0]["y"])
    assert app.number_input(key="bs_coef_seed").value == 1
    assert not np.allclose(first_draw, second_draw)
    assert np.abs(second_draw).max() <= 1.0

    app.button(key="bs_reset").click().run()
    np.testing.assert_allclose(_array(_traces(app, "control")[0]["y"]), 0.0)


def test_seeded_coefficients_repeat(open_page):
    first = _open(open_page, bs_section="Coefficients", bs_coef_seed=7)
    second = _open(open_page, bs_section="Coefficients", bs_coef_seed=7)

    np.testing.assert_array_equal(
        _array(_traces(first, "control")[0]["y"]), _array(_traces(second, "control")[0]["y"])
    )


def test_many_coefficients_use_table(open_page):
    app = _open(open_page, bs_section="Coefficients", bs_grid_size=20)

    assert len(app.data_editor) == 1
    assert len(app.data_editor[0].value) == 23
    assert not [slider for slider in app.slider if str(slider.key).startswith("bs_c")]


def test_coefficient_table_edit_updates_curve(open_page):
    app = _open(open_page, bs_section="Coefficients", bs_grid_size=20, bs_coefs="0")
    column = app.data_editor[0].value.columns[0]

    app.session_state["bs_coef_table"] = {
        "edited_rows": {10: {column: 2.0}}, "added_rows": [], "deleted_rows": []
    }
    app.run()

    assert not app.exception
    assert _array(_traces(app, "control")[0]["y"])[10] == 2.0
    assert app.text_input(key="bs_coefs").value.split(", ")[10] == "2"


@pytest.mark.parametrize(
    "bad_text, message",
    [("-1, 0.5, 0, 1", "non-decreasing"),
     ("-1, abc, 1", "'abc'"),
     ("1, 1", "greater than the first"),
     (", ".join(str(value) for value in range(70)), "At most 61 knots")],
)
def test_bad_knot_text_keeps_previous(open_page, bad_text, message):
    app = _open(open_page, bs_knots="-1,0,0.5,1")
    knots_before = _array(_traces(app, "knots")[0]["x"])

    app.text_input(key="bs_knots").set_value(bad_text).run()

    assert not app.exception
    assert message in app.error[0].value
    assert app.text_input(key="bs_knots").value == "-1,0,0.5,1"
    np.testing.assert_array_equal(_array(_traces(app, "knots")[0]["x"]), knots_before)


def test_bad_knot_table_keeps_previous(open_page):
    app = _open(open_page, bs_section="Knots", bs_knots="-1,0,0.5,1")
    knots_before = _array(_traces(app, "knots")[0]["x"])
    column = app.data_editor[0].value.columns[0]

    app.session_state["bs_knot_table"] = {
        "edited_rows": {1: {column: 0.7}}, "added_rows": [], "deleted_rows": []
    }
    app.run()

    assert not app.exception
    assert "non-decreasing" in app.error[0].value
    assert app.text_input(key="bs_knots").value == "-1,0,0.5,1"
    assert app.data_editor[0].value.iloc[:, 0].tolist() == [-1.0, 0.0, 0.5, 1.0]
    np.testing.assert_array_equal(_array(_traces(app, "knots")[0]["x"]), knots_before)


def test_knot_table_edit_sets_custom_knots(open_page):
    app = _open(open_page, bs_section="Knots", bs_knots="-1,0,0.5,1")
    column = app.data_editor[0].value.columns[0]

    app.session_state["bs_knot_table"] = {
        "edited_rows": {1: {column: 0.2}}, "added_rows": [{column: 2.0}], "deleted_rows": []
    }
    app.run()

    assert not app.exception
    assert app.text_input(key="bs_knots").value == "-1, 0.2, 0.5, 1, 2"
    assert app.query_params["bs_knots"] == "-1, 0.2, 0.5, 1, 2"
    assert app.slider(key="bs_grid_size").disabled


def test_repeated_knot_shows_multiplicity(open_page):
    app = _open(open_page, bs_section="Knots", bs_knots="-1,0,0,1", bs_degree=2)

    assert app.data_editor[0].value["multiplicity"].tolist() == [1, 2, 2, 1]
    assert "×2" in _traces(app, "knots")[0]["text"]


def test_too_few_knots_for_degree_explained(open_page):
    app = _open(open_page, bs_grid_size=2, bs_degree=3, bs_extend="false")

    assert not app.exception
    assert "at least 5 knots" in app.error[0].value
    assert not app.get("plotly_chart")


def test_fit_tracks_smooth_target(open_page):
    app = _open(open_page, bs_section="Fit a target")

    rmse = float(app.metric[0].value)
    assert rmse < 5e-3
    assert len(_traces(app, "fit")) == 1
    assert len(_traces(app, "rmse", index=1)) == 4
    assert len(_traces(app, "reference", index=1)) == 4


def test_fit_error_slope_for_cubic(open_page):
    app = _open(open_page, bs_section="Fit a target", bs_samples=2000)
    cubic = _traces(app, "rmse", index=1)[3]
    sizes, rmse = _array(cubic["x"]), _array(cubic["y"])

    # sin(pi x) is smooth, so from G = 8 to G = 24 the cubic error falls like G^-4.
    low, high = list(sizes).index(8), list(sizes).index(24)
    slope = np.log(rmse[high] / rmse[low]) / np.log(sizes[high] / sizes[low])
    assert slope == pytest.approx(-4.0, abs=0.4)


@pytest.mark.parametrize("target", ["sin(pi e^x)", "|x|", "step at 0", "exp(sin(pi x) + x^2) + 1/(1 + x^2)"])
def test_fit_runs_for_presets(open_page, target):
    app = _open(open_page, bs_section="Fit a target", bs_target=target, bs_noise=0.1)

    assert app.selectbox(key="bs_target").value != "sin_pi_x"
    assert not app.error
    assert len(app.get("plotly_chart")) == 2


def test_invalid_knots_in_link_fall_back_to_uniform(open_page):
    app = _open(open_page, bs_knots="-1,x,1")

    assert "'x'" in app.error[0].value
    assert len(_traces(app, "bases")) == 8


def test_empty_grid_range_explained(open_page):
    app = _open(open_page)

    app.slider(key="bs_range").set_value((0.5, 0.5)).run()

    assert not app.exception
    assert "lower < upper" in app.error[0].value
    assert not app.get("plotly_chart")


def test_invalid_coefficient_text_keeps_previous(open_page):
    app = _open(open_page, bs_section="Coefficients", bs_coefs="1, 2")

    app.text_input(key="bs_coefs").set_value("1, two").run()

    assert not app.exception
    assert "'two'" in app.error[0].value
    assert app.text_input(key="bs_coefs").value == "1, 2"
    np.testing.assert_allclose(_array(_traces(app, "control")[0]["y"]), [1, 2, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    "params",
    [{"bs_degree": "9"}, {"bs_grid_size": "-3"}, {"bs_section": "Nope"},
     {"bs_section": "Fit a target", "bs_samples": "abc"},
     {"bs_section": "Fit a target", "bs_target": "nothing"},
     {"bs_section": "Coefficients", "bs_coef_seed": "-5"}],
)
def test_bad_query_params_ignored(open_page, params):
    app = _open(open_page, **params)

    assert not app.error
    assert app.get("plotly_chart")
