"""AppTest checks of the Grids page: every section, run through the same slices as in a browser.

A running job advances one slice per ``AppTest.run()``, because each run executes the
section's fragment once. `_run_to_end` repeats runs until the job reports done.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

PAGE = "views/grids.py"
SPLINE_DEGREE = 3
MAX_RUNS = 300


def _run_to_end(app, job_key: str):
    for _ in range(MAX_RUNS):
        job = app.session_state[job_key]
        if job.done:
            return job
        app.run()
        assert not app.exception, app.exception
    pytest.fail(f"{job_key} was not done after {MAX_RUNS} runs")


def _chart(app, key: str) -> dict:
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if chart.proto.id and key in chart.proto.id:
            return spec
    pytest.fail(f"no Plotly chart with key {key!r}; page errors: {[e.value for e in app.error]}")


def _traces(spec: dict, group: str) -> list[dict]:
    return [trace for trace in spec["data"] if trace.get("legendgroup") == group]


def _values(trace: dict, axis: str) -> np.ndarray:
    # Plotly may ship arrays as typed buffers ({"dtype", "bdata"}) instead of JSON lists.
    values = trace[axis]
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.array([math.nan if value is None else value for value in values], dtype=float)


CAPACITY_PARAMS = {
    "gr_section": "Capacity schedule",
    "gr_cap_optimizer": "Adam",
    "gr_cap_grids": "3, 6, 12",
    "gr_cap_steps": "10, 20",
    "gr_cap_total": "30",
    "gr_cap_samples": "200",
}


def _run_capacity(open_page):
    app = open_page(PAGE, CAPACITY_PARAMS)
    assert not app.exception
    app.button(key="gr_cap_start").click().run()
    job = _run_to_end(app, "gr_capacity_job")
    return app, job


@pytest.mark.parametrize(
    "section", ["Capacity schedule", "Adaptive grids", "Continual learning", "Scaling law"]
)
def test_grids_section_opens(open_page, section):
    app = open_page(PAGE, {"gr_section": section, "gr_ad_grid": "5"})

    assert not app.exception
    assert [title.value for title in app.title] == ["Grids"]
    assert not app.error


def test_capacity_schedule_marks_refinements(open_page):
    app, job = _run_capacity(open_page)

    assert not app.error
    assert job.refinements == [(10, 6), (20, 12)]
    loss = _chart(app, "gr_cap_loss_chart")
    marker_steps = [shape["x0"] for shape in loss["layout"]["shapes"]]
    assert marker_steps == [10, 20]
    labels = [annotation["text"] for annotation in loss["layout"]["annotations"]]
    assert labels == ["G = 6", "G = 12"]

    # A [2, 1, 1] KAN has 3 edges, each with G + k coefficients and two trainable scales.
    phases = app.dataframe[0].value
    expected = [3 * (size + SPLINE_DEGREE + 2) for size in (3, 6, 12)]
    assert phases["parameters"].tolist() == expected
    assert phases["from step"].tolist() == [0, 10, 20]


def test_capacity_refinement_keeps_activation(open_page):
    app, _ = _run_capacity(open_page)

    # 3 -> 6 -> 12: each new grid contains the old knots, so the old cubic spline lies in
    # the new spline space and the least-squares refit reproduces it up to rounding.
    activations = _chart(app, "gr_cap_activation_chart")
    before = _traces(activations, "before")
    after = _traces(activations, "after")
    assert len(before) == 2
    assert len(after) == 2
    for old, new in zip(before, after):
        np.testing.assert_allclose(_values(new, "y"), _values(old, "y"), atol=1e-9)
    titles = [annotation["text"] for annotation in activations["layout"]["annotations"]]
    assert titles[0].startswith("step 10: G 3 → 6<br>max |Δφ| ")
    assert float(titles[0].rsplit(" ", 1)[1]) < 1e-9


def test_bad_schedule_keeps_previous_results(open_page):
    app, job = _run_capacity(open_page)
    loss_before = _chart(app, "gr_cap_loss_chart")

    app.text_input(key="gr_cap_grids").set_value("3, 10, 5").run()

    assert not app.exception
    assert len(app.error) == 1
    message = app.error[0].value
    assert "5 follows 10" in message
    assert "increasing order" in message
    assert app.button(key="gr_cap_start").disabled
    assert app.session_state["gr_capacity_job"] is job
    assert _chart(app, "gr_cap_loss_chart")["data"] == loss_before["data"]


def test_non_number_schedule_names_entry(open_page):
    app, job = _run_capacity(open_page)

    app.text_input(key="gr_cap_steps").set_value("10, twenty").run()

    assert not app.exception
    assert len(app.error) == 1
    assert "'twenty'" in app.error[0].value
    assert app.session_state["gr_capacity_job"] is job


def test_capacity_stop_keeps_history(open_page):
    app = open_page(PAGE, {**CAPACITY_PARAMS, "gr_cap_total": "2000", "gr_cap_steps": "1000, 1500"})
    app.button(key="gr_cap_start").click().run()

    app.button(key="gr_cap_stop").click().run()

    job = app.session_state["gr_capacity_job"]
    assert not app.exception
    assert job.done
    assert job.stopped
    assert 1 <= job.trainer.step_count < 2000
    assert not app.button(key="gr_cap_start").disabled
    assert "Stopped before the last step." in " ".join(caption.value for caption in app.caption)


def test_refinement_step_count_must_match(open_page):
    app = open_page(PAGE, {**CAPACITY_PARAMS, "gr_cap_steps": "10"})

    assert len(app.error) == 1
    assert "needs 2 refinement steps" in app.error[0].value
    assert "lists 1" in app.error[0].value
    assert app.button(key="gr_cap_start").disabled


def _knots_after(app) -> np.ndarray:
    spec = _chart(app, "gr_ad_chart")
    return _values(_traces(spec, "knots after")[0], "x")


def test_grid_eps_changes_knots(open_page):
    params = {
        "gr_section": "Adaptive grids",
        "gr_ad_grid": "6",
        "gr_ad_inputs": "Clustered: two narrow bands",
    }
    app = open_page(PAGE, params)
    spec = _chart(app, "gr_ad_chart")
    np.testing.assert_allclose(
        _values(_traces(spec, "knots before")[0], "x"), np.linspace(-1, 1, 7), atol=1e-12
    )
    quantile_knots = _knots_after(app)

    app.slider(key="gr_ad_eps").set_value(1.0).run()
    uniform_knots = _knots_after(app)

    assert not app.exception
    assert np.max(np.abs(uniform_knots - quantile_knots)) > 0.05
    # grid_eps = 1 spaces the knots evenly over the inputs' range (plus a small margin).
    spacing = np.diff(uniform_knots)
    np.testing.assert_allclose(spacing, spacing[0], rtol=1e-9)
    # grid_eps = 0.02 puts them near quantiles of two narrow bands: uneven spacing.
    assert np.max(np.diff(quantile_knots)) > 3 * np.min(np.diff(quantile_knots))


def test_drifted_inputs_counted_outside(open_page):
    app = open_page(PAGE, {"gr_section": "Adaptive grids", "gr_ad_grid": "6"})

    metrics = {metric.label: metric.value for metric in app.metric}
    before, after = metrics["Inputs outside the grid"].split(" → ")
    assert int(before) > 0
    assert int(after) == 0
    # Past the grid the kept model runs on its extension bases only; the updated grid
    # covers every input, so its error must be far lower after the same training.
    assert float(metrics["Test RMSE, grid updated"]) < 0.1 * float(metrics["Test RMSE, grid kept"])


def test_continual_learning_fills_forgetting_table(open_page):
    params = {
        "gr_section": "Continual learning",
        "gr_cl_task": "sines of rising frequency, 3 phases",
        "gr_cl_steps": "40",
        "gr_cl_grid": "30",
    }
    app = open_page(PAGE, params)
    app.button(key="gr_cl_start").click().run()
    job = _run_to_end(app, "gr_continual_job")

    assert not app.exception
    assert len(job.run.results) == 3
    tables = app.dataframe
    assert len(tables) == 2
    for table, model in zip(tables, ("kan", "mlp")):
        frame = table.value
        expected = job.run.forgetting_table(model)
        assert frame["after phase"].tolist() == [1, 2, 3]
        for row, expected_row in enumerate(expected):
            for phase, value in enumerate(expected_row, start=1):
                displayed = frame[f"phase {phase}"].iloc[row]
                if value is None:
                    assert math.isnan(displayed)
                else:
                    assert displayed == pytest.approx(value, rel=1e-12)
    chart = _chart(app, "gr_cl_chart")
    assert len(_traces(chart, "kan")) == 3
    assert len(_traces(chart, "mlp")) == 3


SCALING_PARAMS = {"gr_section": "Scaling law", "gr_sc_grids": "3, 5", "gr_sc_steps": "3"}


def test_scaling_sweep_draws_chart(open_page):
    app = open_page(PAGE, SCALING_PARAMS)
    app.button(key="gr_sc_start").click().run()
    job = _run_to_end(app, "gr_scaling_job")

    assert not app.exception
    assert [point.grid_size for point in job.sweep.points] == [3, 5]
    spec = _chart(app, "gr_sc_chart")
    train = _values(_traces(spec, "train")[0], "y")
    test = _values(_traces(spec, "test")[0], "y")
    assert _values(_traces(spec, "test")[0], "x").tolist() == [3, 5]
    assert test[1] < test[0]
    assert train[1] < train[0]
    reference = _traces(spec, "reference")[0]
    ratio = _values(reference, "y")[1] / _values(reference, "y")[0]
    assert ratio == pytest.approx((5 / 3) ** -4, rel=1e-12)
    assert spec["layout"]["xaxis"]["type"] == "log"
    assert spec["layout"]["yaxis"]["type"] == "log"
    table = app.dataframe[0].value
    assert table["grid size G"].tolist() == [3, 5]


def test_scaling_stop_keeps_partial_result(open_page):
    app = open_page(PAGE, {**SCALING_PARAMS, "gr_sc_steps": "200"})
    app.button(key="gr_sc_start").click().run()

    app.button(key="gr_sc_stop").click().run()

    job = app.session_state["gr_scaling_job"]
    assert not app.exception
    assert job.done
    assert len(job.sweep.points) == 1
    assert 1 <= job.sweep.points[0].steps < 200
    assert not app.button(key="gr_sc_start").disabled
    assert _values(_traces(_chart(app, "gr_sc_chart"), "test")[0], "x").tolist() == [3]
