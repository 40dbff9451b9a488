"""Grids page in headless Chromium: runs driven by the ticking fragment, as a reader sees them."""

from __future__ import annotations

import time

import pytest
from browser_helpers import assert_no_exception, open_app, save_screenshot, wait_for_rerun

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = 120
SETTLE_MS = 1500
DATAFRAME = '[data-testid="stDataFrame"]'


def _chart_x(page, key: str, trace: int) -> list[float]:
    return page.evaluate(
        "([selector, index]) => Array.from(document.querySelector(selector).data[index].x)",
        [f".st-key-{key} .js-plotly-plot", trace],
    )


def _run_until_idle(page, key_prefix: str, chart_key: str) -> None:
    # The fragment ticks until the job is done, then the whole page reruns once and the
    # Start button becomes clickable again. The chart appears only after the first slice,
    # so "Start enabled and chart shown" cannot hold before the run began.
    start = page.locator(f".st-key-{key_prefix}_start button")
    chart = page.locator(f".st-key-{chart_key} .js-plotly-plot")
    start.click()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (start.is_enabled() and chart.count() > 0):
        assert_no_exception(page)
        if time.monotonic() > deadline:
            pytest.fail(f"the {key_prefix} run did not finish within {RUN_TIMEOUT_S} s")
        page.wait_for_timeout(200)
    wait_for_rerun(page)
    # A fragment tick scheduled before the final full rerun may still arrive and fade the
    # page for a moment, so wait for it before anyone takes a screenshot.
    page.wait_for_timeout(SETTLE_MS)
    wait_for_rerun(page)


def test_scaling_sweep_reaches_grid_ten(app_url, page):
    open_app(page, f"{app_url}/grids?gr_section=Scaling+law&gr_sc_grids=3%2C+5%2C+10&gr_sc_steps=3")

    _run_until_idle(page, "gr_sc", "gr_sc_chart")

    page.locator(".st-key-gr_sc_chart .js-plotly-plot").wait_for()
    page.locator(DATAFRAME).first.wait_for()
    assert _chart_x(page, "gr_sc_chart", 1) == [3, 5, 10]
    assert_no_exception(page)
    save_screenshot(page, "grids_scaling_sweep")


def test_capacity_schedule_in_browser(app_url, page):
    # The default schedule (3, 5, 10, 20, 50), trained with Adam to keep the test short.
    open_app(page, f"{app_url}/grids?gr_cap_optimizer=Adam")

    _run_until_idle(page, "gr_cap", "gr_cap_activation_chart")

    page.locator(".st-key-gr_cap_activation_chart .js-plotly-plot").wait_for()
    save_screenshot(page, "grids_capacity_schedule")


def test_adaptive_and_continual_tabs(app_url, page):
    open_app(page, f"{app_url}/grids?gr_section=Adaptive+grids")
    page.locator(".st-key-gr_ad_chart .js-plotly-plot").wait_for()
    save_screenshot(page, "grids_adaptive")

    open_app(page, f"{app_url}/grids?gr_section=Continual+learning&gr_cl_steps=100")
    _run_until_idle(page, "gr_cl", "gr_cl_chart")
    page.locator(".st-key-gr_cl_chart .js-plotly-plot").wait_for()
    # Streamlit puts no key class on a table without selection, so count the tables.
    page.locator(DATAFRAME).nth(1).wait_for()
    save_screenshot(page, "grids_continual")
    page.locator(DATAFRAME).nth(1).scroll_into_view_if_needed()
    save_screenshot(page, "grids_continual_tables", full_page=False)


def test_scaling_stop_button_ends_sweep(app_url, page):
    schedule = [3, 5, 10, 20, 50, 100]
    grids = "%2C+".join(str(size) for size in schedule)
    open_app(page, f"{app_url}/grids?gr_section=Scaling+law&gr_sc_grids={grids}&gr_sc_steps=200")
    page.locator(".st-key-gr_sc_start button").click()
    page.locator('[data-testid="stProgress"]').wait_for()

    page.locator(".st-key-gr_sc_stop button").click()

    page.locator(".st-key-gr_sc_start button:enabled").wait_for()
    page.locator(".st-key-gr_sc_chart .js-plotly-plot").wait_for()
    wait_for_rerun(page)
    # How many grids finish before the click lands depends on the machine's speed, so the
    # test checks that the chart shows a proper, non-empty start of the schedule.
    finished = _chart_x(page, "gr_sc_chart", 1)
    assert 1 <= len(finished) < len(schedule)
    assert finished == schedule[: len(finished)]
    assert page.get_by_text("Stopped before the end of the schedule.").count() == 1
    save_screenshot(page, "grids_scaling_stopped")
