# Homeroom: `make serve` and `make test` work on a bare machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
UV := $(BIN)/uv
# What each stamp's target installed: `serve` needs the runtime set only; test, lint and the
# other developer targets add the dev set. Every set is a lock with hashes (requirements/),
# installed by uv, itself locked in requirements/tools.txt: it fetches and installs in
# parallel where pip goes one package at a time (the first `make serve` spent ~60 s in pip).
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
UV_VERSION := 0.13.9
INSTALL := $(UV) pip install --python $(BIN)/python
LOCK := $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 $(LOCK_ARGS)

.PHONY: serve test lint format bench install lock clean

$(UV): requirements/tools.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements/tools.txt
	touch $@

$(RUNTIME): requirements/runtime.txt pyproject.toml $(UV)
	@echo "== installing the runtime dependencies (requirements/runtime.txt) into $(VENV)"
	$(INSTALL) --require-hashes -r requirements/runtime.txt
	$(INSTALL) --no-deps -e .
	touch $@

$(DEV): requirements/dev.txt $(RUNTIME)
	@echo "== adding the development tools (requirements/dev.txt)"
	$(INSTALL) --require-hashes -r requirements/dev.txt
	touch $@

install: $(DEV)

# seed and serve each bring the schema up to date first.
serve: $(RUNTIME)
	$(BIN)/homeroom seed --if-empty --students 2000 --password homeroom
	$(BIN)/homeroom serve

# One pytest-xdist worker per core. `make test-fast` leaves out the live tests (real server
# processes, about half the time on SQLite); CI runs them always.
PYTEST_WORKERS ?= auto

test: $(DEV)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(DEV)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not live" $(PYTEST_ARGS)

lint: $(DEV)
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/python scripts/check_layers.py src/homeroom

format: $(DEV)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: $(DEV)
	$(BIN)/python bench/reads.py

# Re-resolve the locks after a change to pyproject.toml's dependencies or UV_VERSION, keeping
# every pin that still fits; LOCK_ARGS="--upgrade-package NAME" moves one (see CONTRIBUTING.md).
lock: $(UV)
	$(LOCK) pyproject.toml -o requirements/runtime.txt
	$(LOCK) pyproject.toml --extra dev --constraint requirements/runtime.txt -o requirements/dev.txt
	echo "uv==$(UV_VERSION)" | $(LOCK) - -o requirements/tools.txt

clean:
	rm -rf $(VENV) var
