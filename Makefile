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

demo: install
	$(BIN)/python examples/tensor_demo.py

# The cuda device runs through Triton's interpreter when there is no GPU.
test: install-test
	TRITON_INTERPRET=1 $(BIN)/python -m pytest -p no:cacheprovider -n auto
