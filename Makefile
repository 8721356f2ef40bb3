# Two entry points (see README): `make notes` (set up + build the lecture notes + proof summary)
# and `make test` (set up + the full test suite, which also builds the API reference). Both create
# .venv on first use. `make docs` builds the API reference beside the notes, in notes-out/api/.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NOTES_OUT ?= notes-out
DOCS_OUT ?= $(NOTES_OUT)/api
DOCS_BUILD ?= build/docs

.PHONY: notes test bench docs lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# torch==2.13.0 first: the local CPU build, so torch's range in the test extra is already met.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,notes,bench,docs]'
	touch $@ $(VENV)/.installed-notes

$(VENV)/.installed-notes: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[notes]'
	touch $@

notes: $(VENV)/.installed-notes
	$(BIN)/symconv notes --out $(NOTES_OUT)

# Two workers (pytest-xdist): the machines have 2 cores; the slowest tests are listed at the end.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 2 --durations=25

# Warnings are errors; then every example in the pages and the docstrings they show runs. The
# test environment: the reference documents the pytest plugin and runs examples that use torch.
docs: $(VENV)/.installed-test
	$(BIN)/python -m sphinx -b html -W --keep-going -q -d $(DOCS_BUILD)/doctrees docs $(DOCS_OUT)
	$(BIN)/python -m sphinx -b doctest -W --keep-going -q -d $(DOCS_BUILD)/doctrees docs $(DOCS_BUILD)/doctest
	@echo "API reference: $(DOCS_OUT)/index.html"

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/general.py
	$(BIN)/python benchmarks/check.py

# Code hygiene, run by CI: lint and import order, types of the core, no import cycle (imports inside
# functions counted), no module over 500 lines and no function over 60.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check symconv tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/python tools/import_cycles.py
	$(BIN)/python tools/code_size.py
