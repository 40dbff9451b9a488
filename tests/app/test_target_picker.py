"""AppTest checks of the shared target picker: presets, typed formulas and CSV uploads."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "app" / "data" / "example.csv"


def picker_script():
    """A one-widget app: the picker, then the chosen label and the mean train label."""
    import streamlit as st

    from ui.target_picker import build_dataset, target_picker

    n_inputs = int(st.query_params.get("n_inputs", "1"))
    choice = target_picker("tp", n_inputs)
    data = build_dataset(choice, 200, seed=0)
    st.session_state["label"] = choice.label
    st.session_state["source"] = choice.source
    st.session_state["mean"] = float(data.train_label.mean())
    st.session_state["n_train"] = len(data.train_label)


@pytest.fixture
def picker():
    app = AppTest.from_function(picker_script, default_timeout=30)
    app.run()
    return app


def choose_formula(app: AppTest, text: str, lower: float = -1.0, upper: float = 1.0) -> AppTest:
    app.selectbox(key="tp_target").set_value("custom").run()
    app.number_input(key="tp_formula_min").set_value(lower)
    app.number_input(key="tp_formula_max").set_value(upper)
    app.text_input(key="tp_formula").set_value(text)
    return app.run()


def error_text(app: AppTest) -> str:
    return " ".join(element.value for element in app.error)


def test_picker_defaults_to_first_preset(picker):
    assert not picker.exception
    assert picker.session_state["source"] == "preset"
    assert picker.session_state["label"] == "sin(pi x)"


def test_picker_custom_formula_samples_it(picker):
    choose_formula(picker, "x^2 + 1")

    assert not picker.exception
    assert not picker.error
    assert picker.session_state["source"] == "custom"
    # x uniform on [-1, 1]: the mean of x^2 + 1 is 4/3, and 160 samples land within 0.1.
    assert abs(picker.session_state["mean"] - 4 / 3) < 0.1


def test_picker_unknown_function_keeps_last_target(picker):
    choose_formula(picker, "x^2 + 1")
    mean_before = picker.session_state["mean"]

    picker.text_input(key="tp_formula").set_value("foo(x) + 1").run()

    assert not picker.exception
    assert "Unknown function 'foo' at column 1" in error_text(picker)
    assert picker.session_state["label"] == "x^2 + 1"
    assert picker.session_state["mean"] == mean_before


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch /tmp/kan_explorer_canary')",
        "x.__class__",
        "open('/etc/passwd')",
        "9**9**9",
        "(" * 500 + "x" + ")" * 500,
        "lambda: 1",
    ],
)
def test_picker_hostile_formula_is_rejected(picker, text):
    choose_formula(picker, "x + 2")

    picker.text_input(key="tp_formula").set_value(text).run()

    assert not picker.exception
    assert "The formula is invalid" in error_text(picker)
    assert picker.session_state["label"] == "x + 2"
    assert not Path("/tmp/kan_explorer_canary").exists()


def test_picker_partly_undefined_formula_drops_points(picker):
    choose_formula(picker, "log(x)")

    assert not picker.exception
    assert not picker.error
    captions = " ".join(element.value for element in picker.caption)
    assert "undefined" in captions
    assert math.isfinite(picker.session_state["mean"])
    assert picker.session_state["n_train"] < 160


def test_picker_undefined_range_keeps_last_target(picker):
    choose_formula(picker, "x + 2")

    choose_formula(picker, "log(x)", lower=-2.0, upper=-1.0)

    assert not picker.exception
    assert "choose an input range where it is defined" in error_text(picker)
    assert picker.session_state["label"] == "x + 2"


def test_picker_reversed_range_is_rejected(picker):
    choose_formula(picker, "x + 2")

    choose_formula(picker, "x + 2", lower=1.0, upper=-1.0)

    assert "lowest < highest" in error_text(picker)
    assert picker.session_state["label"] == "x + 2"


def test_picker_csv_upload_trains_on_rows(picker):
    picker.selectbox(key="tp_target").set_value("csv").run()
    picker.file_uploader(key="tp_csv").upload("example.csv", EXAMPLE_CSV.read_bytes(), "text/csv")
    picker.run()

    assert not picker.exception
    assert not picker.error
    assert picker.session_state["source"] == "csv"
    captions = " ".join(element.value for element in picker.caption)
    assert "rescaled to run from -1 to 1." in captions


def test_picker_csv_column_names_are_escaped(picker):
    content = b"[a](http://127.0.0.1/x),y\n" + b"".join(f"{i},{2 * i}\n".encode() for i in range(20))
    picker.selectbox(key="tp_target").set_value("csv").run()
    picker.file_uploader(key="tp_csv").upload("data.csv", content, "text/csv")
    picker.run()

    captions = " ".join(element.value for element in picker.caption)
    assert not picker.exception
    assert r"\[a\]\(http" in captions


def test_picker_header_only_csv_keeps_last_target(picker):
    choose_formula(picker, "x + 2")
    picker.selectbox(key="tp_target").set_value("csv").run()

    picker.file_uploader(key="tp_csv").upload("empty.csv", b"x,y\n", "text/csv")
    picker.run()

    assert not picker.exception
    assert error_text(picker)
    assert picker.session_state["label"] == "x + 2"


def test_picker_two_inputs_from_url():
    app = AppTest.from_function(picker_script, default_timeout=30)
    app.query_params["n_inputs"] = "2"
    app.query_params["tp_target"] = "Custom formula"
    app.query_params["tp_formula"] = "x*y + 3"
    app.run()

    assert not app.exception
    assert app.session_state["label"] == "x*y + 3"
    assert abs(app.session_state["mean"] - 3) < 0.1


def test_picker_constant_csv_column_is_rejected(picker):
    choose_formula(picker, "x + 2")
    content = b"x,y\n" + b"".join(f"1,{i}\n".encode() for i in range(20))
    picker.selectbox(key="tp_target").set_value("csv").run()

    picker.file_uploader(key="tp_csv").upload("const.csv", content, "text/csv")
    picker.run()

    assert not picker.exception
    assert "has the same value (1) in every row" in error_text(picker)
    assert picker.session_state["label"] == "x + 2"


def test_picker_error_quotes_formula_literally(picker):
    choose_formula(picker, "x + 2")

    picker.text_input(key="tp_formula").set_value("9**9**9").run()

    assert r"9\*\*9\*\*9" in error_text(picker)
