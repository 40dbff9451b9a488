"""Custom formulas and uploaded CSV files on the training pages, through the shared picker."""

from __future__ import annotations

from pathlib import Path

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
