"""Custom formulas and uploaded CSV files on the training pages, through the shared picker."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import torch

DATA_DIR = Path(__file__).resolve().parents[2] / "app" / "data"


def kan_trainer(app):
    return app.session_state["st_live_trainers"]["KAN"]


def test_stacked_trains_on_formula_from_link(open_page):
    app = open_page("views/stacked.py", {"st_target": "Custom formula", "st_formula": "x^2 - 0.5"})

    app.button(key="st_step").click().run()

    trainer = kan_trainer(app)
    assert not app.exception
    assert not app.error
    assert trainer.step_count > 0
    torch.testing.assert_close(trainer.train_label, trainer.train_input**2 - 0.5)


def test_stacked_bad_formula_keeps_model_and_history(open_page):
    app = open_page("views/stacked.py", {"st_target": "Custom formula", "st_formula": "sin(2*x)"})
    app.button(key="st_step").click().run()
    trainer = kan_trainer(app)
    steps = trainer.step_count

    app.text_input(key="st_formula").set_value("sin(2*x").run()

    assert not app.exception
    assert "The formula is invalid" in app.error[0].value
    assert kan_trainer(app) is trainer
    assert kan_trainer(app).step_count == steps


def test_stacked_trains_on_uploaded_csv(open_page):
    app = open_page("views/stacked.py")
    app.selectbox(key="st_target").set_value("csv").run()
    app.file_uploader(key="st_csv").upload("example.csv", (DATA_DIR / "example.csv").read_bytes(), "text/csv")
    app.run()

    app.button(key="st_step").click().run()

    trainer = kan_trainer(app)
    inputs = torch.cat([trainer.train_input, trainer.test_input])
    assert not app.exception
    assert not app.error
    assert trainer.step_count > 0
    assert len(inputs) == 200
    # The uploaded x column is rescaled onto the first layer's grid range [-1, 1].
    assert inputs.min().item() == -1.0
    assert inputs.max().item() == 1.0


def test_stacked_oversized_csv_keeps_previous_data(open_page):
    app = open_page("views/stacked.py")
    trainer = kan_trainer(app)
    rows = b"".join(f"{i},{i}\n".encode() for i in range(25_000))

    app.selectbox(key="st_target").set_value("csv").run()
    app.file_uploader(key="st_csv").upload("big.csv", b"x,y\n" + rows, "text/csv")
    app.run()

    assert not app.exception
    assert "limit is 20,000 rows" in app.error[0].value
    assert kan_trainer(app) is trainer


def test_grids_capacity_runs_on_one_input_formula(open_page):
    params = {
        "gr_section": "Capacity schedule", "gr_cap_optimizer": "Adam", "gr_cap_grids": "3, 6",
        "gr_cap_steps": "10", "gr_cap_total": "20", "gr_cap_samples": "200",
        "gr_cap_inputs": "1", "gr_cap_target": "Custom formula", "gr_cap_formula": "abs(x) - 0.5",
    }
    app = open_page("views/grids.py", params)
    app.button(key="gr_cap_start").click().run()
    for _ in range(200):
        if app.session_state["gr_capacity_job"].done:
            break
        app.run()

    job = app.session_state["gr_capacity_job"]
    assert not app.exception
    assert job.done
    assert job.settings.widths[0] == 1
    torch.testing.assert_close(job.dataset.train_label, job.dataset.train_input.abs() - 0.5)


def test_grids_adaptive_fits_formula(open_page):
    params = {
        "gr_section": "Adaptive grids", "gr_ad_grid": "5",
        "gr_ad_target": "Custom formula", "gr_ad_formula": "exp(-x^2)",
    }
    app = open_page("views/grids.py", params)

    assert not app.exception
    assert not app.error
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    target = next(trace for trace in spec["data"] if trace["name"] == "target")
    x, y = trace_values(target, "x"), trace_values(target, "y")
    np.testing.assert_allclose(y, np.exp(-(x**2)), rtol=0, atol=1e-12)


def trace_values(trace: dict, axis: str) -> np.ndarray:
    # Plotly may ship arrays as typed buffers ({"dtype", "bdata"}) instead of JSON lists.
    values = trace[axis]
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def test_stacked_upload_disables_noise_and_samples(open_page):
    app = open_page("views/stacked.py")
    app.selectbox(key="st_target").set_value("csv").run()
    app.file_uploader(key="st_csv").upload("example.csv", (DATA_DIR / "example.csv").read_bytes(), "text/csv")
    app.run()

    assert app.slider(key="st_noise").disabled
    assert app.slider(key="st_samples").disabled
