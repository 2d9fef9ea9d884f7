# Karte: `make run` serves the standard pack with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

setup: $(STAMP)
	@sh scripts/assets.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(BIN)/karte demo --if-empty --size 2000
	$(BIN)/karte run

test: setup
	$(BIN)/ruff check platform tests bench
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance platform/karte/static/vendor node_modules
