# Karte: `make run` serves the standard pack with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench bench-dashboards clean messages

setup: $(STAMP)
	@$(BIN)/python -c "import magic" 2>/dev/null || { echo "libmagic is missing: install the system package libmagic1 (apt-get install libmagic1)"; exit 1; }
	@sh scripts/assets.sh
	@$(BIN)/pybabel -q compile -d platform/karte/translations

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
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/run.py

# The dashboards' figures in docs/performance.md: 100k and 1M records, SQLite and PostgreSQL.
bench-dashboards: setup
	$(BIN)/python bench/bench_dashboards.py --size 100000,1000000

clean:
	rm -rf $(VENV) instance platform/karte/static/vendor node_modules

# After changing UI strings: refresh the catalogue, then translate the new entries in
# platform/karte/translations/ja/LC_MESSAGES/messages.po.
messages: setup
	$(BIN)/pybabel -q extract --ignore-dirs='.* node_modules .venv' -F babel.cfg -k _ -k _l -k lazy_gettext -o platform/karte/translations/messages.pot .
	$(BIN)/pybabel -q update -N -i platform/karte/translations/messages.pot -d platform/karte/translations
