# Bookbridge — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint bench chaos install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## Run the whole product locally: demo data, CRM sandboxes, worker, web server, logins printed.
demo: $(STAMP)
	$(PY) manage.py demo $(DEMO_ARGS)

## Run the test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, else SQLite).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## Benchmarks (throughput, latency, CRM calls per booking, quota use, memory) -> docs/benchmarks.md
bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

## Fault harness: duplicated/reordered deliveries, CRM faults, killed workers, broker restart
chaos: $(STAMP)
	$(PY) chaos/run.py $(CHAOS_ARGS)

## Lint: ruff, then the layering contracts (import-linter, see docs/architecture.md)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
