# Two commands for a newcomer (see README.md):
#   make run    set up a virtual environment, install, run the main job on built-in defaults
#   make test   set up the same environment and run the test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench install clean

$(BIN)/odetheory: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/odetheory

run: install
	$(BIN)/odetheory compare --force

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/odetheory bench

clean:
	rm -rf $(VENV) build *.egg-info
