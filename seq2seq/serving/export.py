"""Export to a TensorFlow SavedModel that serves greedy decoding without this package.

The `serve` signature speaks in the numbers a user types: int32 symbol ids (batch, time),
padded with -1, in; the greedily decoded symbol ids (batch, max_len), padded with -1 after
the end, out. Decoding runs inside the SavedModel's graph, so `tf.saved_model.load` in a
process that never imports `seq2seq` (or Keras) serves it.
"""

from pathlib import Path

import keras
import tensorflow as tf

from seq2seq.data.vocabulary import FIRST_SYMBOL_ID, PAD_ID
from seq2seq.evaluation.decoding import greedy_decode
from seq2seq_config.files import atomic_write

#: Padding in the exported signature's inputs and outputs.
SERVE_PAD = -1


def default_max_len(source_len):
    """How many tokens to decode for a source of `source_len`, EOS included, by default.

    Twice the source plus two: room for every toy task's target; decoding stops as soon
    as every sequence has emitted EOS, so a generous bound costs nothing.
    """
    return 2 * source_len + 2


def symbols_to_tokens(symbol_ids):
    """int32 symbol ids padded with -1 to token ids padded with PAD."""
    return tf.where(symbol_ids >= 0, symbol_ids + FIRST_SYMBOL_ID, PAD_ID)


def tokens_to_symbols(token_ids):
    """Decoded token ids to symbol ids; EOS, PAD (and any special id) become -1."""
    return tf.where(token_ids >= FIRST_SYMBOL_ID, token_ids - FIRST_SYMBOL_ID, SERVE_PAD)


def export_saved_model(model: keras.Model, path: Path) -> None:
    """Writes `model`'s greedy decoder as a SavedModel with a `serve` signature.

    Keras' ExportArchive tracks the model's variables and traces the endpoint; the
    directory appears whole or not at all.

    Args:
        model: a Seq2Seq model.
        path: the SavedModel directory to write.
    """

    def serve(symbol_ids):
        token_ids = symbols_to_tokens(symbol_ids)
        decoded = greedy_decode(model, token_ids, default_max_len(tf.shape(symbol_ids)[1]))
        return {"symbol_ids": tokens_to_symbols(decoded)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", serve, input_signature=[tf.TensorSpec([None, None], tf.int32, name="symbol_ids")]
    )
    with atomic_write(path) as temporary:
        archive.write_out(str(temporary), verbose=False)
