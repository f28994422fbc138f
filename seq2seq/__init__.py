"""Configuration-driven encoder-decoder LSTM training on Keras 3.

Importing the package registers its Keras classes, so that a saved `model.keras`
reloads with `keras.saving.load_model`. It imports TensorFlow; the command-line tools
check their config with `seq2seq_config` first, which does not.

The package follows a batch through its stages: `data/` (config to batches), `model/`
(token ids to logits), `training/` (fit into a run directory), `evaluation/`
(decoding and metrics), `serving/` (a finished run put to use); the commands
`evaluate`, `predict` and `modes` sit at the top. See docs/architecture.md.
"""

from seq2seq.data.vocabulary import BOS_ID, EOS_ID, PAD_ID, Vocabulary
from seq2seq.evaluation.beam_search import beam_search
from seq2seq.evaluation.decoding import decode, greedy_decode, greedy_search, sample
from seq2seq.evaluation.metrics import ExactMatch
from seq2seq.model.attention import Attention
from seq2seq.model.bridge import Bridge
from seq2seq.model.families import (
    FAMILIES,
    AttentionSeq2Seq,
    EncoderOutput,
    RepeatVectorSeq2Seq,
    Seq2Seq,
    build_model,
)
from seq2seq.model.recurrent import Decoder, Encoder
from seq2seq.serving.finished_run import Run, load_run
from seq2seq.training.trainer import train
from seq2seq_config.version import __version__

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "FAMILIES",
    "PAD_ID",
    "Attention",
    "AttentionSeq2Seq",
    "Bridge",
    "Decoder",
    "Encoder",
    "EncoderOutput",
    "ExactMatch",
    "RepeatVectorSeq2Seq",
    "Run",
    "Seq2Seq",
    "Vocabulary",
    "beam_search",
    "build_model",
    "decode",
    "greedy_decode",
    "greedy_search",
    "load_run",
    "sample",
    "train",
    "__version__",
]
