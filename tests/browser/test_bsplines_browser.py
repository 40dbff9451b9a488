"""The B-splines page in headless Chromium: it loads, draws, redraws and reads its URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import (
    open_app,
    plotly_trace_counts,
    save_screenshot,
    slider_thumb,
    slider_value,
    wait_for_rerun,
    wait_for_trace_count,
)

pytestmark = pytest.mark.browser

CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot'


def _basis_trace_count(page) -> int:
    # Chart traces of the basis figure: one per basis, plus sum, knots and non-zero count.
    page.locator(CHART).first.wait_for()
    return plotly_trace_counts(page)[0] - 3


def test_home_lists_bsplines_page(app_url, page):
    open_app(page, app_url)

    link = page.locator('[data-testid="stPageLink"]').filter(has_text="B-splines")
    assert link.count() == 1
    save_screenshot(page, "home")


def test_bsplines_page_draws_basis_chart(app_url, page):
    open_app(page, f"{app_url}/bsplines")

    # Defaults: G = 5 intervals, degree 3, extension on, so G + k = 8 bases.
    assert _basis_trace_count(page) == 8
    save_screenshot(page, "bsplines_basis")


def test_degree_slider_arrow_key_redraws(app_url, page):
    open_app(page, f"{app_url}/bsplines")
    assert _basis_trace_count(page) == 8

    thumb = slider_thumb(page, "bs_degree")
    thumb.focus()
    thumb.press("ArrowRight")
    # Degree 4 on G = 5 gives 9 bases, plus sum, knots and count traces.
    wait_for_trace_count(page, 12)
    wait_for_rerun(page)

    assert slider_value(page, "bs_degree") == 4
    assert _basis_trace_count(page) == 9
    assert parse_qs(urlparse(page.url).query).get("bs_degree") == ["4"]
    save_screenshot(page, "bsplines_degree_4")


def test_query_params_set_widgets(app_url, page):
    open_app(page, f"{app_url}/bsplines?bs_degree=2&bs_grid_size=7")

    assert slider_value(page, "bs_degree") == 2
    assert slider_value(page, "bs_grid_size") == 7
    assert _basis_trace_count(page) == 9


def test_invalid_knots_keep_previous(app_url, page):
    open_app(page, f"{app_url}/bsplines?bs_knots=-1,0,0.5,1")
    knots_input = page.locator(".st-key-bs_knots input")

    knots_input.fill("-1, 0.5, 0, 1")
    knots_input.press("Enter")
    wait_for_rerun(page)

    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    assert "non-decreasing" in error.inner_text()
    assert knots_input.input_value() == "-1,0,0.5,1"
    save_screenshot(page, "bsplines_invalid_knots")


def _edit_first_column(page, table_key: str, row: int, text: str) -> None:
    # Streamlit's table is drawn on a canvas, so a cell is found by position: below the
    # header, each row is one row height tall, and a narrow row-marker column comes first.
    canvas = page.locator(f'.st-key-{table_key} [data-testid="data-grid-canvas"]')
    canvas.wait_for()
    # On a loaded machine the table may still be drawing its rows; clicks go nowhere then.
    wait_for_rerun(page)
    page.wait_for_timeout(500)
    box = canvas.bounding_box()
    header_height = row_height = 35
    page.mouse.click(box["x"] + 100, box["y"] + header_height + row_height * row + row_height / 2)
    # Enter opens the cell editor. Typing straight into a selected cell drops the decimal
    # point of "0.25", because the first key only opens the editor.
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    page.keyboard.press("Control+A")
    page.keyboard.type(text, delay=50)
    page.keyboard.press("Enter")


def test_bad_knot_table_edit_keeps_previous(app_url, page):
    open_app(page, f"{app_url}/bsplines?bs_section=Knots&bs_knots=-1,0,0.5,1")
    page.locator(CHART).first.wait_for()

    _edit_first_column(page, "bs_knot_table", row=1, text="0.7")

    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for()
    assert "non-decreasing" in error.inner_text()
    assert page.locator(".st-key-bs_knots input").input_value() == "-1,0,0.5,1"
    save_screenshot(page, "bsplines_invalid_knot_table")


def test_knot_table_edit_reaches_url(app_url, page):
    open_app(page, f"{app_url}/bsplines?bs_section=Knots&bs_knots=-1,0,0.5,1")
    page.locator(CHART).first.wait_for()

    _edit_first_column(page, "bs_knot_table", row=1, text="0.25")

    page.wait_for_function("() => window.location.search.includes('0.25')")
    wait_for_rerun(page)
    assert page.locator(".st-key-bs_knots input").input_value() == "-1, 0.25, 0.5, 1"
    assert parse_qs(urlparse(page.url).query)["bs_knots"] == ["-1, 0.25, 0.5, 1"]


@pytest.mark.parametrize(
    "section, charts",
    [("Knots", 1), ("Coefficients", 1), ("Fit+a+target", 2)],
)
def test_each_section_renders(app_url, page, section, charts):
    open_app(page, f"{app_url}/bsplines?bs_section={section}")

    page.locator(CHART).nth(charts - 1).wait_for()
    assert len(plotly_trace_counts(page)) == charts
    save_screenshot(page, f"bsplines_{section.replace('+', '_').lower()}")


def test_coefficient_slider_reaches_url(app_url, page):
    open_app(page, f"{app_url}/bsplines?bs_section=Coefficients&bs_coefs=0")
    page.locator(CHART).first.wait_for()

    thumb = slider_thumb(page, "bs_c3")
    thumb.focus()
    thumb.press("ArrowRight")

    page.wait_for_function("() => new URLSearchParams(window.location.search).get('bs_coefs') !== '0'")
    wait_for_rerun(page)
    coefficients = parse_qs(urlparse(page.url).query)["bs_coefs"][0].split(", ")
    assert coefficients == ["0", "0", "0", "0.01", "0", "0", "0", "0"]
    # The moved coefficient's support is shaded and labelled.
    assert page.locator(".js-plotly-plot .annotation-text", has_text="support of N").count() == 1
    save_screenshot(page, "bsplines_coefficient_moved")


def test_randomise_button_updates_url(app_url, page):
    open_app(page, f"{app_url}/bsplines?bs_section=Coefficients")

    page.locator(".st-key-bs_randomise button").click()

    page.wait_for_function("() => new URLSearchParams(window.location.search).get('bs_coef_seed') === '1'")
    wait_for_rerun(page)
    assert page.locator(".st-key-bs_coef_seed input").input_value() == "1"
