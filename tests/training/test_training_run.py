"""A training run holds values resolved once from its config, never the config itself."""

import ast
import dataclasses
import functools
from pathlib import Path
from types import SimpleNamespace

from omegaconf import Container

from seq2seq.config.schema import LoggingConfig, ModelConfig, TrainerConfig
from seq2seq.training.run import TrainingRun

ROOT = Path(__file__).resolve().parents[2]


def _values(value):
    """Every value inside `value`: a dataclass's fields, a partial's arguments, a
    container's items, recursively."""
    yield value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, field.name) for field in dataclasses.fields(value)]
    elif isinstance(value, functools.partial):
        children = [value.func, *value.args, *value.keywords.values()]
    elif isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    else:
        children = []
    for child in children:
        yield from _values(child)


def test_a_training_run_holds_typed_values_and_no_config(tiny_cfg, tmp_path):
    cfg = tiny_cfg("model.units=12", "trainer.batch_size=7", "logging.samples=2")
    data = SimpleNamespace(vocabs=SimpleNamespace(model_sizes=lambda: (9, 11)))
    run = TrainingRun.from_config(cfg, tmp_path, data, strategy=None, facts={})
    found = [type(value).__name__ for value in _values(run) if isinstance(value, Container)]
    assert found == []
    assert isinstance(run.trainer, TrainerConfig) and run.trainer.batch_size == 7
    assert isinstance(run.logging, LoggingConfig) and run.logging.samples == 2
    assert run.seed == cfg.seed and run.chief
    model_options = run.new_model.args[0]
    assert isinstance(model_options, ModelConfig) and model_options.units == 12
    assert run.new_model.args[1:] == (9, 11)
    assert run.start.trial_id == str(tmp_path)  # no command line: named by its directory
    assert "units: 12" in run.start.config_text


def test_after_the_runner_only_from_config_reads_a_config():
    # The runner (`trainer.py`) and what plans before the run is built (the time budget,
    # the precision) read the config; TrainingRun and the loops, its resolved values.
    for name in ("run.py", "keras_fit.py", "distribute.py", "finish.py", "kept.py", "callbacks.py"):
        tree = ast.parse((ROOT / "seq2seq" / "training" / name).read_text())
        readers = {
            function.name
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef)
            for node in ast.walk(function)
            if (isinstance(node, ast.Name) and node.id == "cfg")
            or (isinstance(node, ast.Attribute) and node.attr == "cfg")
        }
        assert readers <= {"from_config"}, (name, readers)
