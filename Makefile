# Club Chat protocol — the two commands a newcomer runs: `make demo` and `make test`.
# Every target installs what it needs when it is missing and is safe to re-run:
#   uv (bootstrapped with pip when not on PATH) -> .venv from uv.lock -> node_modules from
#   package-lock.json (anvil, solc, OpenZeppelin) -> the vyper binary ape's vvm looks for.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_BOOTSTRAP := .cache/uv-bootstrap
# uv from PATH if present, otherwise a private copy bootstrapped with pip.
UV := $(shell command -v uv 2>/dev/null || echo $(UV_BOOTSTRAP)/bin/uv)
# Root installs Debian packages directly, anyone else through sudo.
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo )apt-get
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
# ape-vyper asks vvm for a vyper binary; point vvm at the one the lock file installs
# (no download from GitHub needed).
export VVM_BINARY_PATH := $(CURDIR)/$(VENV)/vvm
# uv uses the interpreter given below and never downloads one.
export UV_PYTHON_DOWNLOADS := never
export HYPOTHESIS_PROFILE ?= ci
# ape, titanoboa and web3 import thousands of modules in every process; let Python cache
# their bytecode even where the environment asks it not to.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: all setup demo test lint typecheck unit integration deep bench clean distclean coturn whitepaper

all: test

# Debian ships `venv`/`ensurepip` in a separate package (python3.11-venv); install it when
# missing, then bootstrap uv into a private virtualenv.
$(UV_BOOTSTRAP)/bin/uv:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (Debian: apt-get install python3.11)" >&2; exit 1; }
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
		echo "Installing python3.11-venv (needed to bootstrap uv)"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq python3.11-venv; \
	fi
	$(PYTHON) -m venv $(UV_BOOTSTRAP)
	$(UV_BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	mkdir -p $(VENV)/vvm && ln -sfn ../bin/vyper $(VENV)/vvm/vyper-0.4.3
	touch $@

# `npm install --no-save` installs exactly the versions of package-lock.json without rewriting
# it. Not `npm ci`: it insists that the lock lists anvil's binaries for every platform, and
# registries that serve only this platform's (like this project's machines) leave them out.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm install --no-audit --no-fund --no-save
	touch $@

setup: $(VENV)/.synced node_modules/.installed coturn

# coturn for TURN nodes and the call tests. clubchat runs it itself (own ports, pid, log, db);
# the Debian package's system service is disabled right after the install.
coturn:
	@command -v turnserver >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq coturn; \
			systemctl disable --now coturn >/dev/null 2>&1 || true; \
		else echo "coturn (turnserver) not found: run 'sudo apt-get install -y coturn' then re-run make" >&2; exit 1; fi; }

# Deploys to the anvil on 127.0.0.1:8545 (started and stopped by the demo when none runs).
demo: setup
	$(BIN)/club demo

lint: setup
	$(BIN)/ruff check clubchat scripts tests bench
	$(BIN)/ruff format --check clubchat scripts tests bench

typecheck: setup
	$(BIN)/mypy clubchat

# In-process tests only: no real process (anvil, coturn, node processes: `integration`), no load test (`slow`).
unit: setup
	$(BIN)/pytest -q $(XDIST) tests --ignore=tests/integration --ignore=tests/e2e -m "not integration and not slow"

integration: setup
	$(BIN)/pytest -q tests/integration tests/e2e

# Three workers (pytest-xdist), one test file per worker at a time, on CI's 2 cores: the suite
# (about 2,100 tests) spends much of its time waiting on anvil, node processes and dispute phases,
# so a third worker fills the idle core time. Measured on a fresh clone of the 2-core machine:
# 2 workers 17 min 55 s (1.25 cores busy), 3 workers 13 min 47 s (1.57 cores, no more CPU time).
# Every test uses its own free ports and temporary directories, so files are independent.
PYTEST_WORKERS ?= 3
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck
	$(BIN)/pytest -q $(XDIST) --durations=25 -m "not slow" tests

# The long fuzz profile: many more hypothesis examples and longer stateful runs.
# --timeout=0 lifts pyproject's 300-s default for unmarked tests: deep state machines run for hours.
deep: setup
	HYPOTHESIS_PROFILE=deep $(BIN)/pytest -q --timeout=0 tests

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Every figure and table of whitepaper/ from the parameters file and the model (clubchat.sim).
whitepaper: setup
	$(BIN)/club sim whitepaper

clean:
	rm -rf .build .build.lock .build.sources .pytest_cache .mypy_cache .ruff_cache .hypothesis demo-report.json

# Also removes the installed environments (the next target re-creates them).
distclean: clean
	rm -rf $(VENV) node_modules $(UV_BOOTSTRAP)
