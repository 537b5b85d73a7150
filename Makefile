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
