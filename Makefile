# On a fresh machine with Python 3.11: `make train`, `make lint`, `make test` (and
# `make test-fast` while working). Each creates .venv and installs the pinned
# dependencies first, once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup train lint test test-fast bench bench-decoding bench-export bench-families bench-peers clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test,export]"
	touch $(STAMP)

setup: $(STAMP)

## make train ARGS="model.units=64 trainer.epochs=3"
train: $(STAMP)
	$(BIN)/python train.py $(ARGS)

## The linter and the formatter's check (ruff, settings in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two workers; tests sharing a trained run stay in one file, hence one worker; the heaviest
# files start first (tests/durations.json, in the order tests/conftest.py gives them).
PYTEST_ARGS ?= -n 2 --dist loadfile --no-loadscope-reorder

## make test PYTEST_ARGS="-k config"   (the whole suite; budget 8 minutes on 2 cores, measured: docs/testing.md)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Everything but the tests marked slow: those that train (one tiny run stays) or read a run a fixture trains,
## processes that load TensorFlow, a path repeated for another family or tokenizer (budget 2 minutes on
## 2 cores, measured: docs/testing.md).
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not slow"

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test,bench]"
	touch $@

## Training throughput against bare Keras and PyTorch, time to 99%, decoding, a default run's
## peak memory, the default run against a PyTorch script, the real-data setting: benchmarks/results/bench.{json,md} (about 10 minutes).
bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/suite.py

## Decoding throughput against keras_hub's samplers, the keras-io way and PyTorch.
bench-decoding: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/decoding.py

## The exported decoder (ONNX float32 and int8, LiteRT) against predict and the SavedModel on
## the G2P-sized model: file sizes, load time, words per second, int8's agreement with float32
## (about 10 minutes on 2 cores): benchmarks/results/export.{json,md}; docs/export.md shows them.
bench-export: $(STAMP)
	$(BIN)/python benchmarks/export.py

$(VENV)/.peers-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[test,g2p,peers]"
	touch $@

## CMUdict G2P: Phonetisaurus trained and scored on the project's split as `evaluate` scores
## (about 3 minutes): benchmarks/results/peers.json. ARGS="--train-cmudict" also trains
## experiment=cmudict beside it (30+ minutes), ARGS="--cmudict-run DIR" reads a finished run.
bench-peers: $(VENV)/.peers-installed
	$(BIN)/python benchmarks/peers.py $(ARGS)

## Each model family on the default task and on lengths up to 20 (about 20 minutes).
bench-families: $(STAMP)
	$(BIN)/python benchmarks/families.py

clean:
	rm -rf $(VENV) outputs multirun data/*/ .pytest_cache
