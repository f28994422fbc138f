"""Configuration-driven encoder-decoder LSTM training on Keras 3.

The package's top is lazy (PEP 562): `import seq2seq` loads no TensorFlow, so that
`python -m seq2seq.evaluate run_dir=...` checks its config and run directory in well under a
second before paying for it; each name below is imported on first use. The model classes
register with Keras when their module loads: on first use of the models, or at once when
Keras was imported before `seq2seq` (`import keras; import seq2seq`), so that a saved
`model.keras` reloads with `keras.saving.load_model`.

The package is a house of layers, each importing only the ones below it (a test checks):
the half that runs before TensorFlow, `base/` (errors, run-file names, atomic files, token
ids, version) -> `config/` (schemas, composing) -> `text/` (text rules, files of pairs,
tokenizers, vocabularies) -> `data/` (splits, the token store, batching plans) -> `checks/`
(a config against itself and its files) -> `run/` (the run directory, sweeps); then the
stages that need TensorFlow, `model/` (token ids to logits), `decoding/`, `evaluation/`,
`weights/`, `logs/`, `machine/`, `training/`, `serving/`; then `cli/` (every command's way
in) and the commands `evaluate`, `predict`, `score`, `export` and `modes`. Every module of
the first half and of `cli/` loads without TensorFlow. See docs/architecture.md.
"""

import importlib
import sys

from seq2seq.base.version import __version__

#: Each public name and the module it lives in.
_EXPORTS = {
    # The configuration, importable without TensorFlow.
    "ConfigError": "seq2seq.base.errors",
    "RunError": "seq2seq.base.errors",
    "UserError": "seq2seq.base.errors",
    "describe": "seq2seq.base.errors",
    "CONFIG_DIR": "seq2seq.config.compose",
    "compose_config": "seq2seq.config.compose",
    "ModelConfig": "seq2seq.config.schema",
    "TaskConfig": "seq2seq.config.schema",
    "TrainConfig": "seq2seq.config.schema",
    "TrainerConfig": "seq2seq.config.schema",
    "register_configs": "seq2seq.config.schema",
    "validate": "seq2seq.checks.validation",
    "exit_on_user_error": "seq2seq.cli.runner",
    "run_cli": "seq2seq.cli.runner",
    # The stages, which load TensorFlow.
    "BOS_ID": "seq2seq.text.vocabulary",
    "EOS_ID": "seq2seq.text.vocabulary",
    "PAD_ID": "seq2seq.text.vocabulary",
    "Vocabulary": "seq2seq.text.vocabulary",
    "beam_search": "seq2seq.decoding.beam_search",
    "decode": "seq2seq.decoding.strategies",
    "greedy_decode": "seq2seq.decoding.strategies",
    "greedy_search": "seq2seq.decoding.strategies",
    "sample": "seq2seq.decoding.strategies",
    "TokenRules": "seq2seq.decoding.token_rules",
    "ExactMatch": "seq2seq.evaluation.metrics",
    "Attention": "seq2seq.model.attention",
    "Bridge": "seq2seq.model.bridge",
    "FAMILIES": "seq2seq.model.families",
    "AttentionSeq2Seq": "seq2seq.model.families",
    "EncoderOutput": "seq2seq.model.families",
    "RepeatVectorSeq2Seq": "seq2seq.model.families",
    "Seq2Seq": "seq2seq.model.families",
    "build_model": "seq2seq.model.families",
    "Decoder": "seq2seq.model.recurrent",
    "Encoder": "seq2seq.model.recurrent",
    "Run": "seq2seq.serving.finished_run",
    "load_run": "seq2seq.serving.finished_run",
    "train": "seq2seq.training.trainer",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    """Imports a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups skip this function
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))


if "keras" in sys.modules:  # Keras is paid for already: register the model classes now
    importlib.import_module("seq2seq.registered")
