# Placenet: what people and CI run. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
FIXTURES := fixtures/places/uk.json fixtures/places/councils.json fixtures/seed/place-action-inquiry.yaml
PORT ?= 8000
export PORT

.PHONY: help install browser bench scaling topology topology-down run serve migrate fixtures test test-postgres contract-test contract lint format openapi clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(INSTALLED) ## Install Placenet and its development tools into .venv

$(INSTALLED): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install ## Install, migrate, load the places and seed network, and serve on 127.0.0.1:$PORT
	$(BIN)/placenet migrate
	$(BIN)/placenet fixtures load $(FIXTURES)
	$(BIN)/placenet serve

serve: install ## Serve without migrating or loading anything
	$(BIN)/placenet serve

migrate: install ## Bring the database (DATABASE_URL, default a SQLite file) up to date
	$(BIN)/placenet migrate

fixtures: install ## Load the places and the seed network (re-runnable: a second load changes nothing)
	$(BIN)/placenet fixtures load $(FIXTURES)

browser: ## Install Debian's Chromium for the browser tests when it is missing (never a downloaded one)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: install browser ## Install what the tests need and run them (SQLite)
	$(BIN)/pytest

test-postgres: install browser ## Run the suite on PostgreSQL, with its own replica and restart tests (PLACENET_TEST_POSTGRES)
	PLACENET_TEST_DATABASE=postgres $(BIN)/pytest

contract-test: install ## Schemathesis in-process on a seeded database, fixed seed (PLACENET_TEST_DATABASE=postgres too)
	PLACENET_CONTRACT=1 $(BIN)/pytest tests/contract -p no:cacheprovider

contract: install ## Schemathesis CLI against a live server, random seed: make contract URL=http://127.0.0.1:8000
	@test -n "$(URL)" || { echo "usage: make contract URL=http://127.0.0.1:8000"; exit 2; }
	@test -n "$$PLACENET_API_KEY" || { echo "export PLACENET_API_KEY=\$$(.venv/bin/placenet keys create --role admin) first"; exit 2; }
	$(BIN)/st --config-file schemathesis.toml run --seed $$(( RANDOM * 32768 + RANDOM )) $(URL)/docs/openapi.json

bench: install ## Measure the service against bare-ASGI baselines (bench/README.md); writes bench/results/
	$(MAKE) -f bench/Makefile bench

scaling: install ## Measure 1 and 4 workers, a read replica and Redis on loopback (bench/scaling.py)
	$(BIN)/python bench/scaling.py

topology: install ## The docker-compose topology as processes on loopback: primary, replica, Redis, 4 workers on :8100
	$(BIN)/python -m ops.topology up --workers 4

topology-down: ## Stop what `make topology` started (its data is kept; ops/README.md)
	$(BIN)/python -m ops.topology down

lint: install ## ruff, mypy (code and tests) and the import contract of the tiers (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: install ## Write openapi/openapi.json from the code
	$(BIN)/placenet openapi openapi/openapi.json

clean: ## Remove the virtual environment and the local SQLite database
	rm -rf $(VENV) placenet.sqlite3 placenet.sqlite3-shm placenet.sqlite3-wal
