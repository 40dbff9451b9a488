"""Typing formulas in Chromium: a bad one shows a message and keeps the chart, a good one redraws."""

from __future__ import annotations

import math
from urllib.parse import quote

import pytest
from browser_helpers import PLOTLY_CHART, open_app, save_screenshot, wait_for_rerun

pytestmark = pytest.mark.browser

FIT_TAB = "bs_section=" + quote("Fit a target")
CUSTOM = "bs_target=" + quote("Custom formula")
ERROR_BOX = '[data-testid="stAlertContentError"]'


def chart_values(page) -> list[list[float]]:
    """Return the y values of every trace of the first chart, as Plotly drew them."""
    page.locator(PLOTLY_CHART).first.wait_for()
    return page.evaluate(
        """selector => Array.from(
            document.querySelector(selector)._fullData, trace => Array.from(trace.y || [])
        )""",
        PLOTLY_CHART,
    )


def largest_change(before: list[list[float]], after: list[list[float]]) -> float:
    """Return the largest absolute difference between two charts' y values (inf if shapes differ)."""
    if [len(trace) for trace in before] != [len(trace) for trace in after]:
        return math.inf
    pairs = [(u, v) for old, new in zip(before, after) for u, v in zip(old, new)]
    return max((abs(u - v) for u, v in pairs), default=0.0)


def type_formula(page, text: str) -> None:
    box = page.locator('.st-key-bs_formula input')
    box.fill(text)
    box.press("Enter")
    page.wait_for_timeout(300)
    wait_for_rerun(page)


def test_bad_formula_keeps_chart_good_formula_redraws(app_url, page):
    formula = "bs_formula=" + quote("x^2")
    open_app(page, f"{app_url}/bsplines?{FIT_TAB}&{CUSTOM}&{formula}")
    before = chart_values(page)
    assert page.locator(ERROR_BOX).count() == 0

    type_formula(page, "foo(x) + 1")

    assert "Unknown function 'foo' at column 1" in page.locator(ERROR_BOX).first.inner_text()
    # The least-squares fit is recomputed on each rerun, so allow rounding differences.
    assert largest_change(before, chart_values(page)) < 1e-9
    save_screenshot(page, "formula_rejected")

    type_formula(page, "sin(3*x)")
    save_screenshot(page, "formula_accepted")

    page.locator(ERROR_BOX).first.wait_for(state="detached")
    assert largest_change(before, chart_values(page)) > 0.1


def test_hostile_formula_in_link_is_rejected(app_url, page):
    formula = "bs_formula=" + quote("__import__('os').system('true')")
    open_app(page, f"{app_url}/bsplines?{FIT_TAB}&{CUSTOM}&{formula}")

    assert "The formula is invalid" in page.locator(ERROR_BOX).first.inner_text()
    # The page falls back to the first preset, so the fit chart is still drawn.
    page.locator(PLOTLY_CHART).first.wait_for()
