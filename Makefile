# sopkit — the two commands a new user needs:
#   make demo   set up .venv, generate a monitoring day, run every notebook, reports in outputs/
#   make test   set up .venv with the test extras and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sopkit-installed
TSTAMP := $(VENV)/.sopkit-test-installed

.PHONY: demo test lint clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(VENV)/bin/sopkit demo

test: $(TSTAMP)
	$(PY) -m pytest

lint: $(TSTAMP)
	$(VENV)/bin/ruff check sopkit tests benchmarks

clean-venv:
	rm -rf $(VENV)
