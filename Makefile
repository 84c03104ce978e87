# The front door. `make demo` and `make test` do all their own set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SCALE  ?= quick
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYTHONUNBUFFERED = 1

.PHONY: install demo test test-fast lint bench docs clean browser-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[spark,postgres,test,bench]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/segmentum demo --dir demo

# Chromium for the browser tests comes from Debian's packages (no browser downloads).
browser-deps:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will be skipped"; }

# The suite in two processes (pytest-xdist; CI has 2 cores and most tests wait on servers, subprocesses and
# DuckDB as much as they compute): on clean clones here (CI=true bash .ci/run, 2026-12-03) the tests took 20.4
# minutes against 35.4 in one process, the whole check 23.7 against about 39. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: install browser-deps
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --durations=25

test-fast: install
	$(PY) -m pytest -q -m "not slow and not spark and not browser"

# ruff (lint and format), mypy, and the import-linter contract that keeps the layers of DESIGN.md section 3
lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports

bench: install
	$(PY) -m bench.run --scale $(SCALE)
	$(PY) -m bench.cli
	$(PY) -m bench.html_report --customers 5000

docs: install
	$(PY) -m segmentum.cli.reference > docs/cli.md

clean:
	rm -rf $(VENV) demo build dist spark-warehouse .pytest_cache
