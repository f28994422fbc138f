"""Configuration-driven encoder-decoder LSTM training on Keras 3.

Importing the package registers its Keras classes, so that a saved `model.keras`
reloads with `keras.saving.load_model`. It imports TensorFlow; the command-line tools
check their config with `seq2seq_config` first, which does not.
"""

from seq2seq.decoding import beam_search, decode, greedy_decode, greedy_search, sample
from seq2seq.layers import Attention, Bridge, Decoder, Encoder
from seq2seq.metrics import ExactMatch
from seq2seq.model import (
    FAMILIES,
    AttentionSeq2Seq,
    EncoderOutput,
    RepeatVectorSeq2Seq,
    Seq2Seq,
    build_model,
)
from seq2seq.runs import Run, load_run
from seq2seq.training import train
from seq2seq.vocab import BOS_ID, EOS_ID, PAD_ID, Vocabulary

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
]
