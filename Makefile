# The two set-up commands for a newcomer are `make run` and `make test`; every target
# creates/refreshes the virtualenv itself, so nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/headroom proxy --port 8787

# After pytest, where npm exists: the Node package's tests (sdk/typescript), which start a real
# `headroom proxy` from $(VENV) and pack + install the package into an empty folder.
test: $(STAMP)
	bash scripts/ensure-redis.sh
	bash scripts/ensure-chromium.sh
	if command -v npm >/dev/null; then npm --prefix tests/e2e install --no-audit --no-fund --silent; fi
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest
	if command -v npm >/dev/null; then npm --prefix sdk/typescript install --no-audit --no-fund --silent && npm --prefix sdk/typescript test; fi

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --out docs/BENCHMARKS.md
	echo >> docs/BENCHMARKS.md
	$(BIN)/python benchmarks/proxy_overhead.py >> docs/BENCHMARKS.md
	echo >> docs/BENCHMARKS.md
	$(BIN)/python benchmarks/agent_sessions.py >> docs/BENCHMARKS.md
	echo >> docs/BENCHMARKS.md
	$(BIN)/python benchmarks/agent_sessions.py --busy >> docs/BENCHMARKS.md
	echo >> docs/BENCHMARKS.md
	$(BIN)/python benchmarks/first_sight.py --busy >> docs/BENCHMARKS.md

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
