"""Helpers for browser tests: wait for Streamlit, check for exceptions, read widgets, save screenshots.

- `open_app` loads a URL and waits for the first script run. `wait_for_rerun` waits after
  an interaction. Both fail the test if Streamlit shows an exception box.
- `save_screenshot` writes ``artifacts/screenshots/<name>.png`` (the folder is git-ignored).
  Look at the pictures, because layout bugs show there first.
- `plotly_trace_counts` returns the number of traces of each Plotly chart on the page.
- `slider_thumb` and `slider_value` find a slider by widget key and read its value.
- `wait_for_trace_count` waits until a chart shows the expected number of traces.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"

RERUN_TIMEOUT_MS = 30_000
# The status widget appears a moment after an interaction, so the app counts as idle only
# once the widget has stayed absent this long.
IDLE_CONFIRM_MS = 400

STATUS_WIDGET = '[data-testid="stStatusWidget"]'
EXCEPTION_BOX = '[data-testid="stException"]'
APP_ROOT = '[data-testid="stApp"]'
FIRST_ELEMENT = '[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]'
PLOTLY_CHART = ".js-plotly-plot"
MAIN_BLOCK = '[data-testid="stMain"]'
MAX_SCREENSHOT_HEIGHT = 6000


def assert_no_exception(page) -> None:
    """Fail with the shown text if Streamlit displays an exception box."""
    boxes = page.locator(EXCEPTION_BOX)
    if boxes.count() > 0:
        pytest.fail(f"Streamlit shows an exception: {boxes.first.inner_text()}")


def wait_for_rerun(page, timeout_ms: int = RERUN_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished running the script, then check for exceptions.

    Streamlit shows `STATUS_WIDGET` while a script run is in progress. The widget may
    appear a moment after the interaction that caused the rerun, so the app is idle only
    when the widget has stayed absent for `IDLE_CONFIRM_MS`.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while True:
        running = page.locator(STATUS_WIDGET).count() > 0
        now = time.monotonic()
        if running:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif (now - idle_since) * 1000 >= IDLE_CONFIRM_MS:
            break
        if now > deadline:
            pytest.fail(f"Streamlit was still running after {timeout_ms} ms")
        page.wait_for_timeout(50)
    assert_no_exception(page)


def open_app(page, url: str, timeout_ms: int = RERUN_TIMEOUT_MS) -> None:
    """Load `url`, wait for the app shell and the first script run, and check for exceptions."""
    page.goto(url, wait_until="domcontentloaded")
    page.locator(APP_ROOT).wait_for(timeout=timeout_ms)
    # The main block is empty until the first script run delivers elements.
    page.locator(FIRST_ELEMENT).first.wait_for(timeout=timeout_ms)
    wait_for_rerun(page, timeout_ms)


def save_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as ``artifacts/screenshots/<name>.png`` and return its path.

    Streamlit scrolls inside its main block rather than the document, so Playwright's own
    full-page mode shows only the viewport. With `full_page`, the viewport is stretched to
    the main block's height (at most `MAX_SCREENSHOT_HEIGHT`) for the picture and restored.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    viewport = page.viewport_size
    if full_page and viewport is not None:
        height = page.evaluate(
            "selector => (document.querySelector(selector) || document.body).scrollHeight",
            MAIN_BLOCK,
        )
        page.set_viewport_size(
            {"width": viewport["width"], "height": min(max(height, viewport["height"]), MAX_SCREENSHOT_HEIGHT)}
        )
        # Plotly redraws its charts on resize; give it a moment before the picture.
        page.wait_for_timeout(500)
    try:
        page.screenshot(path=str(path))
    finally:
        if viewport is not None:
            page.set_viewport_size(viewport)
    return path


def plotly_trace_counts(page) -> list[int]:
    """Return the number of traces of each rendered Plotly chart, in page order."""
    return page.evaluate(
        "selector => Array.from(document.querySelectorAll(selector), plot => (plot.data || []).length)",
        PLOTLY_CHART,
    )


def slider_thumb(page, key: str, index: int = 0):
    """Return the focusable range input of the slider with widget key `key`.

    Streamlit draws each thumb as a hidden ``<input type="range">``. Focus it and press
    ArrowRight or ArrowLeft to move the slider by one step, as a keyboard user would.
    """
    return page.locator(f'.st-key-{key} input[type="range"]').nth(index)


def slider_value(page, key: str, index: int = 0) -> float:
    """Return the current value of a slider thumb, read from its range input."""
    return float(slider_thumb(page, key, index).input_value())


def wait_for_trace_count(page, expected: int, *, chart: int = 0, timeout_ms: int = RERUN_TIMEOUT_MS) -> None:
    """Wait until Plotly chart number `chart` on the page has `expected` traces.

    `wait_for_rerun` cannot always tell that a rerun is still to come, because Streamlit
    may skip the status widget for a short run. Waiting for the expected chart is exact.
    """
    page.wait_for_function(
        """([selector, chart, expected]) => {
            const plot = document.querySelectorAll(selector)[chart];
            return plot !== undefined && (plot.data || []).length === expected;
        }""",
        arg=[PLOTLY_CHART, chart, expected],
        timeout=timeout_ms,
    )
    assert_no_exception(page)
