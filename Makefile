# Two entry points for a fresh machine: `make run` starts the app, `make test` runs every test.
# Both create the virtual environment in .venv on first use and reinstall only when the
# requirement files change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: run test bench clean

run: $(STAMP)
	$(BIN)/streamlit run app/streamlit_app.py --server.address $(HOST) --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	for script in bench/bench_*.py; do $(BIN)/python "$$script" || exit 1; done

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -e .
	touch $(STAMP)

clean:
	rm -rf $(VENV) artifacts .pytest_cache
