# Every target sets itself up: the first one run creates .venv and installs requirements-dev.lock.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP := $(BIN)/python -m pip --quiet --quiet --disable-pip-version-check

export LOW_ASSETS_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(LOW_ASSETS_DATA_DIR)/dagster_home

.PHONY: install run ui test lint format bench lock clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements-dev.lock
	$(PIP) install --no-deps -e .
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.local.yaml $@

## Materialise the whole graph over the packaged sample, offline, then print a summary.
run: install $(DAGSTER_HOME)/dagster.yaml
	LOW_ASSETS_BARS_SOURCE=sample $(BIN)/python -m low_assets.cli run

## The Dagster UI on the same instance as `make run`: http://127.0.0.1:3000
ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: install
	$(BIN)/python -m pytest

## The benchmark suite (not part of `make test`): writes bench_results/results.{json,md}.
bench: install
	$(BIN)/python -m benchmarks.run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Rewrite requirements.lock (runtime) and requirements-dev.lock (test and lint tools on top)
## from a fresh environment of pyproject.toml's ranges.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip --quiet install -e .
	(sed -n '1,2p' requirements.lock; .lock-venv/bin/python -m pip freeze --exclude-editable) > requirements.lock.new
	.lock-venv/bin/python -m pip --quiet install -e '.[dev]'
	(sed -n '1,3p' requirements-dev.lock; .lock-venv/bin/python -m pip freeze --exclude-editable | grep -vxF -f requirements.lock.new) > requirements-dev.lock.new
	mv requirements.lock.new requirements.lock && mv requirements-dev.lock.new requirements-dev.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) data
