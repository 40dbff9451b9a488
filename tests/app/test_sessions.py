"""Two readers side by side: what one does must change nothing in the other's session.

Each AppTest has its own session state but shares the Python process, so any per-reader data
kept in a module global or a shared cache would leak from one to the other here.
"""

from __future__ import annotations

from pathlib import Path

import torch

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "app" / "data" / "example_2d.csv"
SYMBOLIC_SMALL = {"sy_widths": "2, 3, 1", "sy_samples": "300"}


def parameters(model) -> list[torch.Tensor]:
    return [tensor.detach().clone() for tensor in model.state_dict().values()]


def assert_same_parameters(model, saved: list[torch.Tensor]) -> None:
    for current, before in zip(model.state_dict().values(), saved, strict=True):
        assert torch.equal(current, before)


def test_training_in_one_session_leaves_other_untouched(open_page):
    first = open_page("views/stacked.py")
    second = open_page("views/stacked.py")
    second_trainer = second.session_state["st_live_trainers"]["KAN"]
    second_saved = parameters(second_trainer.model)

    first.button(key="st_step").click().run()
    first.button(key="st_step").click().run()
    second.run()

    first_trainer = first.session_state["st_live_trainers"]["KAN"]
    assert first_trainer.step_count > 0
    assert first_trainer.model is not second.session_state["st_live_trainers"]["KAN"].model
    assert second.session_state["st_live_trainers"]["KAN"].step_count == 0
    assert_same_parameters(second.session_state["st_live_trainers"]["KAN"].model, second_saved)
    assert not first.exception
    assert not second.exception


def test_snapping_in_one_session_leaves_other_untouched(open_page):
    first = open_page("views/symbolic.py", SYMBOLIC_SMALL, timeout=180)
    second = open_page("views/symbolic.py", SYMBOLIC_SMALL, timeout=180)
    second_model = second.session_state["sy_live_trainers"]["KAN"].model
    second_masks = [layer.symbolic_mask.clone() for layer in second_model.layers]

    first.button(key="sy_snap").click().run()
    second.run()

    first_model = first.session_state["sy_live_trainers"]["KAN"].model
    assert sum(float(layer.symbolic_mask.sum()) for layer in first_model.layers) == 1.0
    second_model = second.session_state["sy_live_trainers"]["KAN"].model
    for layer, mask in zip(second_model.layers, second_masks, strict=True):
        assert torch.equal(layer.symbolic_mask, mask)
        assert float(layer.symbolic_mask.sum()) == 0.0
    assert not first.exception
    assert not second.exception


def test_upload_in_one_session_leaves_other_untouched(open_page):
    first = open_page("views/symbolic.py", SYMBOLIC_SMALL, timeout=180)
    second = open_page("views/symbolic.py", SYMBOLIC_SMALL, timeout=180)
    second_label = second.session_state["sy__last_valid_target"].label

    first.selectbox(key="sy_target").set_value("csv").run()
    first.file_uploader(key="sy_csv").upload("example_2d.csv", EXAMPLE_CSV.read_bytes(), "text/csv")
    first.run()
    second.run()

    assert first.session_state["sy__last_valid_target"].source == "csv"
    assert second.session_state["sy__last_valid_target"].label == second_label
    assert second.session_state["sy__last_valid_target"].source == "preset"
    assert not first.exception
    assert not second.exception
