# Homeroom: `make serve` and `make test` work on a bare machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# What each stamp's target installed: `serve` needs the runtime set only; test, lint and the
# other developer targets add the dev set (requirements/*.txt, locked with hashes).
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
UV_VERSION := 0.13.9
LOCK := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --universal --python-version 3.11 $(LOCK_ARGS)

.PHONY: serve test lint format bench install lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements/runtime.txt pyproject.toml | $(BIN)/python
	@echo "== installing the runtime dependencies (requirements/runtime.txt) into $(VENV)"
	$(PIP) install --require-hashes -r requirements/runtime.txt
	$(PIP) install --no-deps --quiet -e .
	touch $@

$(DEV): requirements/dev.txt $(RUNTIME)
	@echo "== adding the development tools (requirements/dev.txt)"
	$(PIP) install --require-hashes -r requirements/dev.txt
	touch $@

install: $(DEV)

# seed and serve each bring the schema up to date first.
serve: $(RUNTIME)
	$(BIN)/homeroom seed --if-empty --students 2000 --password homeroom
	$(BIN)/homeroom serve

test: $(DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

format: $(DEV)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(DEV)
	$(BIN)/python bench/reads.py

# Re-resolve the locks after a change to pyproject.toml's dependencies, keeping every pin that
# still fits; LOCK_ARGS="--upgrade-package NAME" moves one (see CONTRIBUTING.md).
lock: | $(BIN)/python
	$(PIP) install --quiet uv==$(UV_VERSION)
	$(LOCK) -o requirements/runtime.txt
	$(LOCK) --extra dev --constraint requirements/runtime.txt -o requirements/dev.txt

clean:
	rm -rf $(VENV) var
