"""Configuration-driven encoder-decoder LSTM training on Keras 3.

The package's top is lazy (PEP 562): `import seq2seq` loads no TensorFlow, so that
`python -m seq2seq.evaluate run_dir=...` checks its config and run directory in well under a
second before paying for it; each name below is imported on first use. The model classes
register with Keras when their module loads: on first use of the models, or at once when
Keras was imported before `seq2seq` (`import keras; import seq2seq`), so that a saved
`model.keras` reloads with `keras.saving.load_model`.

The package follows a batch through its stages: `data/` (config to batches), `model/`
(token ids to logits), `training/` (fit into a run directory), `evaluation/`
(decoding and metrics), `serving/` (a finished run put to use); the commands
`evaluate`, `predict`, `score` and `modes` sit at the top. See docs/architecture.md.
"""

import importlib
import sys

from seq2seq_config.version import __version__

#: Each public name and the module it lives in.
_EXPORTS = {
    "BOS_ID": "seq2seq.data.vocabulary",
    "EOS_ID": "seq2seq.data.vocabulary",
    "PAD_ID": "seq2seq.data.vocabulary",
    "Vocabulary": "seq2seq.data.vocabulary",
    "beam_search": "seq2seq.evaluation.beam_search",
    "decode": "seq2seq.evaluation.decoding",
    "greedy_decode": "seq2seq.evaluation.decoding",
    "greedy_search": "seq2seq.evaluation.decoding",
    "sample": "seq2seq.evaluation.decoding",
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
