# Two commands for a newcomer: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is for a laptop: DEBUG on unless the environment or .env says otherwise.
RUN_ENV = $(if $(or $(DEBUG),$(shell grep -s '^DEBUG=' .env)),,DEBUG=1)

.PHONY: run test lint format simulator clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

run: $(VENV)/.installed-runtime
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py demo_user
	@echo "Serving http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(RUN_ENV) $(BIN)/daphne -b $(HOST) -p $(PORT) voiceproject.asgi:application

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# JavaScript units (resampler, PCM, playback queue): node's own test runner, no packages.
	@if command -v node >/dev/null 2>&1; then node --test tests/js/; \
	elif [ -n "$$CI" ]; then echo "node is missing: CI must run the JavaScript tests (apt-get install nodejs)." >&2; exit 1; \
	else echo "Skipping the JavaScript tests: node is not installed (apt-get install nodejs)."; fi
	@# The browser tests drive Debian's chromium; the fake microphone's speech needs espeak-ng and sox.
	@missing=""; test -x /usr/bin/chromium || missing=" chromium"; \
	for tool in espeak-ng sox; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "Installing$$missing for the browser tests (apt-get)"; \
	  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }; then \
	    echo "Could not install$$missing (apt-get needs root): the browser tests will skip and say why." >&2; \
	    if [ -n "$$CI" ]; then exit 1; fi; fi; fi
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

simulator: $(VENV)/.installed-runtime
	$(RUN_ENV) $(BIN)/python manage.py realtime_simulator --port 8765

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# The relay benchmark (under 5 minutes): every target's evidence, written to docs/benchmarks.md
# and docs/benchmarks.png. bench-full (about 6 minutes) adds the phases behind the README's
# settings and py-spy profiles. BENCH_ARGS=--quick for a smoke run; raw results in bench/results/.
.PHONY: bench bench-full
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-full: $(VENV)/.installed-dev
	$(BIN)/python -m bench --full $(BENCH_ARGS)
