"""Shared pytest set-up: make the app's ``ui`` package importable and seed torch.

``streamlit run app/streamlit_app.py`` puts ``app/`` on ``sys.path``, so the pages import
``ui`` as a top-level package; tests need the same path to import it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_DIR = REPO_ROOT / "app"
ENTRY_FILE = APP_DIR / "streamlit_app.py"

if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))


@pytest.fixture
def repo_root() -> Path:
    """Root folder of the repository."""
    return REPO_ROOT


@pytest.fixture
def entry_file() -> Path:
    """Path of the app's entry file, ``app/streamlit_app.py``."""
    return ENTRY_FILE


@pytest.fixture(autouse=True)
def _seed_torch():
    """Seed torch's global generator so a test without its own generator is repeatable."""
    import torch

    torch.manual_seed(0)
    yield


def pytest_configure(config):
    """Run torch on one intra-op thread, as the app does.

    The tests do small tensor work on a shared 2-core machine, where torch's default threads
    spin against each other: the B-spline error sweep ran about 50 times slower with them
    under load than with one thread.
    """
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def open_page():
    """Return a function that runs the app on one page in Streamlit's AppTest.

    ``open_page("views/bsplines.py", {"bs_degree": "2"})`` runs the entry file (so the page
    list and page config exist as in the real app), switches to the page and runs it once
    more with the given query parameters. The returned ``AppTest`` can then set widgets and
    ``run()`` again, exactly like a reader's reruns.
    """
    from streamlit.testing.v1 import AppTest

    def _open(page: str, query_params: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
        app = AppTest.from_file(str(ENTRY_FILE), default_timeout=timeout)
        app.query_params.update(query_params or {})
        app.run()
        if page != "views/home.py":
            app.switch_page(page).run()
        return app

    return _open
