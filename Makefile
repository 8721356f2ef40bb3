# Two entry points (see README): `make notes` (set up + build the lecture notes + proof summary)
# and `make test` (set up + the full test suite). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTES_OUT ?= notes-out

.PHONY: notes test bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# torch==2.13.0 first: the local CPU build, so torch's range in the test extra is already met.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,notes,bench]'
	touch $@ $(VENV)/.installed-notes

$(VENV)/.installed-notes: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[notes]'
	touch $@

notes: $(VENV)/.installed-notes
	$(BIN)/symconv notes --out $(NOTES_OUT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/general.py
