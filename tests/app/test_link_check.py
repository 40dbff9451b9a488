"""A link with values the controls reject gets one toast that names them."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def open_from_link(entry_file, page: str, params: dict[str, str]) -> AppTest:
    app = AppTest.from_file(str(entry_file), default_timeout=60)
    app.query_params.update(params)
    app.switch_page(page)
    return app.run()


def toast_text(app: AppTest) -> str:
    return " ".join(toast.value for toast in app.toast)


def test_rejected_link_values_are_named(entry_file):
    app = open_from_link(entry_file, "views/bsplines.py", {"bs_grid_size": "100000", "bs_degree": "2"})

    assert not app.exception
    assert "bs_grid_size=100000" in toast_text(app)
    assert "bs_degree" not in toast_text(app)
    assert app.slider(key="bs_degree").value == 2


def test_default_valued_link_gets_no_toast(entry_file):
    app = open_from_link(entry_file, "views/bsplines.py", {"bs_degree": "3", "bs_extend": "true"})

    assert not app.exception
    assert not app.toast


def test_toast_only_on_first_run(entry_file):
    app = open_from_link(entry_file, "views/bsplines.py", {"bs_grid_size": "-3"})
    assert "bs_grid_size=-3" in toast_text(app)

    app.slider(key="bs_degree").set_value(4).run()

    assert not app.toast
