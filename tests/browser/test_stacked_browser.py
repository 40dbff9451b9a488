"""The Stacked-splines page in headless Chromium: live training plays, pauses and redraws."""

from __future__ import annotations

import pytest
from browser_helpers import assert_no_exception, open_app, save_screenshot, wait_for_rerun
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

LOSS_CHART = ".st-key-st_loss_chart .js-plotly-plot"
LAYERS_CHART = ".st-key-st_layers_chart .js-plotly-plot"
PLAY_SECONDS = 3


def _button(page, key: str):
    # NOTE: in Streamlit 1.67 the key's container contains two matching buttons (the second
    # probably belongs to the tooltip), and clicking the first one works.
    return page.locator(f".st-key-{key} button").first


def _wait_until_paused(page) -> None:
    # A tick that started before the click still finishes and redraws, so wait until Play is
    # enabled again and the app is idle, which on a loaded machine can take a few seconds.
    expect(_button(page, "st_play")).to_be_enabled(timeout=20_000)
    wait_for_rerun(page)


def _open_stacked(page, url: str) -> None:
    # The first run builds the models after drawing the settings, so wait for a chart too.
    open_app(page, url)
    page.locator(LOSS_CHART).first.wait_for()
    wait_for_rerun(page)


def _loss_points(page) -> int:
    # Points of all loss curves together. Streamlit sends NumPy arrays base64-encoded, and
    # Plotly decodes them only into its full data, so read that when it exists.
    page.locator(LOSS_CHART).first.wait_for()
    return page.evaluate(
        """selector => {
            const plot = document.querySelector(selector);
            const traces = plot._fullData || plot.data || [];
            return traces.reduce((total, trace) => total + (trace.x ? trace.x.length || 0 : 0), 0);
        }""",
        LOSS_CHART,
    )


def _step_metric(page) -> int:
    value = page.locator('[data-testid="stMetric"]').filter(has_text="Step").first
    return int(value.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))


def test_play_then_pause_adds_loss_points(app_url, page):
    _open_stacked(page, f"{app_url}/stacked")
    points_before = _loss_points(page)
    assert _step_metric(page) == 0

    _button(page, "st_play").click()
    page.wait_for_timeout(PLAY_SECONDS * 1000)
    save_screenshot(page, "stacked_playing", full_page=False)
    _button(page, "st_pause").click()
    _wait_until_paused(page)

    assert _step_metric(page) > 0
    assert _loss_points(page) > points_before
    assert_no_exception(page)
    save_screenshot(page, "stacked_paused")


def test_pause_holds_the_step_count(app_url, page):
    _open_stacked(page, f"{app_url}/stacked?st_depth=2")

    _button(page, "st_play").click()
    page.wait_for_timeout(1500)
    _button(page, "st_pause").click()
    _wait_until_paused(page)
    paused_at = _step_metric(page)
    page.wait_for_timeout(1500)

    assert paused_at > 0
    assert _step_metric(page) == paused_at


def test_deep_network_without_base_flags_grid(app_url, page):
    _open_stacked(page, f"{app_url}/stacked?st_depth=6&st_base=false&st_lr=0.1")

    for _ in range(5):
        _button(page, "st_step").click()
        wait_for_rerun(page)

    page.locator(LAYERS_CHART).first.wait_for()
    assert_no_exception(page)
    warning = page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="left their grid")
    warning.first.wait_for()
    assert "pass no gradient back" in warning.first.inner_text()
    save_screenshot(page, "stacked_depth6_no_base")
