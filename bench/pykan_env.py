"""Create the separate virtual environment in which benchmarks run pykan for comparison.

pykan 0.2.8 is a reference for speed and accuracy only, so it never enters the project's own
environment. `pykan_python` creates ``bench/.venv-pykan`` on first use with ``python3 -m venv``
and pip, then returns its interpreter. Benchmarks run their pykan half in that interpreter as a
subprocess and exchange data through files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["VENV_DIR", "PACKAGES", "pykan_python"]

VENV_DIR = Path(__file__).resolve().parent / ".venv-pykan"

# pykan 0.2.8 declares no dependencies in its package metadata, so the ones it imports are named.
PACKAGES = (
    "torch==2.13.0",
    "pykan==0.2.8",
    "matplotlib",
    "tqdm",
    "pandas",
    "scikit-learn",
    "pyyaml",
    "sympy",
    "numpy",
)

_READY_MARKER = VENV_DIR / ".installed"


def pykan_python() -> Path:
    """Return the interpreter of the pykan environment, creating the environment if missing.

    Returns
    -------
    Path
        ``bench/.venv-pykan/bin/python``.

    Raises
    ------
    subprocess.CalledProcessError
        If creating the environment or installing a package fails.
    """
    python = VENV_DIR / "bin" / "python"
    if _READY_MARKER.exists():
        return python

    print(f"Creating {VENV_DIR} with {', '.join(PACKAGES)} (first run only)...", file=sys.stderr)
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(VENV_DIR)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *PACKAGES],
        check=True,
    )
    _READY_MARKER.touch()
    return python


if __name__ == "__main__":
    print(pykan_python())
