"""Fixtures that drive the real app in headless Chromium.

Recipe for a page's browser test (the helpers live in ``browser_helpers.py`` beside this
file, which pytest puts on ``sys.path``)::

    import pytest
    from browser_helpers import open_app, save_screenshot, wait_for_rerun

    pytestmark = pytest.mark.browser

    def test_my_page_loads(app_url, page):
        open_app(page, f"{app_url}/my_page?my_degree=2")
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        save_screenshot(page, "my_page_loaded")

- `app_server` starts ``streamlit run app/streamlit_app.py`` once per test session on a free
  127.0.0.1 port and stops it afterwards. `app_url` is its base URL without a trailing slash.
- `chromium` launches /usr/bin/chromium once per session, and `page` opens a fresh browser
  context with a projector-sized viewport for each test.

Tests are skipped when /usr/bin/chromium is missing, except under CI (``CI=true``), where a
missing browser is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import RERUN_TIMEOUT_MS

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_LOG = REPO_ROOT / "artifacts" / "streamlit-server.log"
VIEWPORT = {"width": 1440, "height": 900}
STARTUP_TIMEOUT_S = 60.0


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    message = f"Chromium not found at {CHROMIUM}; install Debian's chromium package."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " Browser tests must run in CI.")
    pytest.skip(message)


def _free_port() -> int:
    # Binding port 0 makes the kernel pick a free port. Another process could take it before
    # Streamlit binds, which is unlikely on a test machine and fails loudly if it happens.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _is_healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _log_tail(lines: int = 40) -> str:
    if not SERVER_LOG.is_file():
        return "(no server log)"
    return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """Start the app on a free loopback port, yield its base URL, and stop it afterwards."""
    _require_chromium()
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SERVER_LOG.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _is_healthy(base_url):
            if server.poll() is not None:
                pytest.fail(f"Streamlit exited with code {server.returncode}:\n{_log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Streamlit was not healthy after {STARTUP_TIMEOUT_S} s:\n{_log_tail()}")
            time.sleep(0.25)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def app_url(app_server: str) -> str:
    """Base URL of the running app, such as ``http://127.0.0.1:40123``."""
    return app_server


@pytest.fixture(scope="session")
def chromium():
    """Launch Debian's headless Chromium once per test session."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    """Open a page in a fresh browser context, so tests share no cookies or storage."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(RERUN_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()
