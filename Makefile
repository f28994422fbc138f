# Two commands on a fresh machine with Python 3.11: `make train` and `make test`.
# Both create .venv and install the pinned dependencies first, once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup train test bench bench-decoding bench-families clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test]"
	touch $(STAMP)

setup: $(STAMP)

## make train ARGS="model.units=64 trainer.epochs=3"
train: $(STAMP)
	$(BIN)/python train.py $(ARGS)

# Two workers; tests sharing a trained run stay in one file, hence one worker.
PYTEST_ARGS ?= -n 2 --dist loadfile

## make test PYTEST_ARGS="-k config"
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test,bench]"
	touch $@

## Training throughput against bare Keras, time to 99%, decoding, a default run's
## peak memory: benchmarks/results/bench.{json,md} (about 10 minutes).
bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/suite.py

## Decoding throughput against keras_hub's samplers, the keras-io way and PyTorch.
bench-decoding: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/decoding.py

## Each model family on the default task and on lengths up to 20 (about 20 minutes).
bench-families: $(STAMP)
	$(BIN)/python benchmarks/families.py

clean:
	rm -rf $(VENV) outputs multirun data/*/ .pytest_cache
