# Everything sets itself up: a fresh machine with Python 3.11+ and pip is enough.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# aws-sam-cli pins its own dependencies, so it lives apart; `sam validate --lint` runs where it installs
# and its test says why it skipped where it does not.
SAM_VENV ?= .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[aws,dev]'
	touch $(STAMP)

$(SAM_STAMP):
	-$(PYTHON) -m venv $(SAM_VENV) && $(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli && touch $(SAM_STAMP)

demo: $(STAMP)
	$(PY) -m barpath.demo

test: $(STAMP) $(SAM_STAMP) lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/bench.py

clean:
	rm -rf $(VENV) $(SAM_VENV) demo-out out
