"""Configuration-driven encoder-decoder LSTM training on Keras 3.

Importing the package registers its Keras classes, so that a saved `model.keras`
reloads with `keras.saving.load_model`. It imports TensorFlow; the command-line tools
check their config with `seq2seq_config` first, which does not.
"""

from seq2seq.decoding import greedy_decode, greedy_search
from seq2seq.layers import Decoder, Encoder
from seq2seq.metrics import ExactMatch
from seq2seq.model import EncoderOutput, Seq2Seq, build_model
from seq2seq.training import train
from seq2seq.vocab import BOS_ID, EOS_ID, PAD_ID, Vocabulary

__all__ = [
    "BOS_ID",
    "Decoder",
    "EOS_ID",
    "Encoder",
    "EncoderOutput",
    "ExactMatch",
    "PAD_ID",
    "Seq2Seq",
    "Vocabulary",
    "build_model",
    "greedy_decode",
    "greedy_search",
    "train",
]
