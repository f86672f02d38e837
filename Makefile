# Club Chat protocol — the two commands a newcomer runs: `make demo` and `make test`.
# Every target installs what it needs when it is missing and is safe to re-run.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# uv from PATH if present, otherwise a private copy bootstrapped with pip.
UV := $(shell command -v uv 2>/dev/null || echo .cache/uv-bootstrap/bin/uv)
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
# ape-vyper asks vvm for a vyper binary; point vvm at the one the lock file installs
# (no download from GitHub needed).
export VVM_BINARY_PATH := $(CURDIR)/$(VENV)/vvm
export HYPOTHESIS_PROFILE ?= ci

.PHONY: all setup demo test lint typecheck unit integration deep bench clean

all: test

$(UV):
	$(PYTHON) -m venv .cache/uv-bootstrap
	.cache/uv-bootstrap/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	mkdir -p $(VENV)/vvm && ln -sf ../bin/vyper $(VENV)/vvm/vyper-0.4.3
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.synced node_modules/.installed

demo: setup
	$(BIN)/club demo

lint: setup
	$(BIN)/ruff check clubchat scripts tests bench
	$(BIN)/ruff format --check clubchat scripts tests bench

typecheck: setup
	$(BIN)/mypy clubchat

unit: setup
	$(BIN)/pytest -q tests --ignore=tests/integration --ignore=tests/e2e

integration: setup
	$(BIN)/pytest -q tests/integration tests/e2e

test: lint typecheck
	$(BIN)/pytest -q tests

# The long fuzz profile: many more hypothesis examples and longer stateful runs.
deep: setup
	HYPOTHESIS_PROFILE=deep $(BIN)/pytest -q tests

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .build .pytest_cache .mypy_cache .ruff_cache .hypothesis
