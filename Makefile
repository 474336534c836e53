# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck imports pytest browser-test install lock fuzz bench clean

TS_TOOLS := clients/typescript

$(STAMP): pyproject.toml requirements.lock $(TS_TOOLS)/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	# openapi-typescript and tsc, pinned, for the generated-client test (which runs offline).
	if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(TS_TOOLS) --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else echo "npm not found: the TypeScript client check will be skipped (required in CI)"; fi
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/appointments serve --host $(HOST) --port $(PORT)

test: lint typecheck imports pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench

typecheck: $(STAMP)
	cd src && ../$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

# Only the real-browser test (/docs and /redoc in headless /usr/bin/chromium, offline); it is
# part of `pytest` too, skipped there without Chromium unless REQUIRE_BROWSER=1.
browser-test: $(STAMP)
	$(BIN)/pytest -m browser tests/browser

# Refresh the pins: resolve the newest versions allowed by pyproject.toml in a scratch venv.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | sort > requirements.lock
	rm -rf .lock-venv

# Longer contract fuzzing against a served instance on PostgreSQL (not part of `make test`).
fuzz: $(STAMP)
	bash bench/fuzz.sh

# Load benchmarks against the real server on PostgreSQL; prints JSON (see bench/README.md).
bench: $(STAMP)
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(TS_TOOLS)/node_modules
