# Two commands on a fresh machine with Python 3.11: `make train` and `make test`.
# Both create .venv and install the pinned dependencies first, once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup train test clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test]"
	touch $(STAMP)

setup: $(STAMP)

## make train ARGS="model.units=64 trainer.epochs=3"
train: $(STAMP)
	$(BIN)/python train.py $(ARGS)

## make test PYTEST_ARGS="-k config"
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) outputs multirun data/*/ .pytest_cache
