# Two entry points (see README): `make demo` (the main job) and `make test` (the test suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

.PHONY: install install-test demo test
install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e ".[test,torch]"

# Trains the small CNN on the 8x8 digits (cpu, or cuda when a GPU is present); the last line is the test accuracy.
demo: install
	$(BIN)/python examples/digits.py

# The cuda device runs through Triton's interpreter when there is no GPU.
test: install-test
	TRITON_INTERPRET=1 $(BIN)/python -m pytest -p no:cacheprovider -n auto
