"""Export to a TensorFlow SavedModel that serves greedy decoding without this package.

The `serve` signature speaks in the numbers a user types: int32 symbol ids (batch, time),
padded with -1, in; out, `symbol_ids`, the greedily decoded symbol ids, padded with -1
after the end (batch, the largest row bound), and `truncated`, bool (batch,): whether a
row reached its length bound without ending (its output is cut short). Each row decodes
up to the run's length bound for its own source length (`seq2seq.decoding.length_bound`,
baked into the graph as constants), as `predict` and `evaluate` do. Decoding runs inside
the SavedModel's graph, so `tf.saved_model.load` in a process that never imports
`seq2seq` (or Keras) serves it.

The contract, checked inside the graph:

- every id is a symbol, 0 .. symbols - 1, or -1 for padding; anything else fails with
  an InvalidArgumentError that says so;
- padding comes only at the end of a row (a -1 between symbols would silently drop one);
- a row of padding only is an empty source and decodes to an empty output (all -1);
  an empty batch, or rows of width 0, give an empty output of the same batch size;
  neither is truncated.

Given the run's vocabularies, the export also has a `serve_text` signature (source strings
in, decoded strings out), which is also `serving_default` (TensorFlow Serving's default,
as Keras' ExportArchive names the first endpoint), and `serve_text_beam` (the n best
hypotheses of beam search, with their log-probabilities and lengths):
`seq2seq.serving.text_signature`. A run writes it to `saved_model/1/`, TensorFlow
Serving's layout.
"""

from pathlib import Path

import keras
import tensorflow as tf

from seq2seq.base.files import atomic_write
from seq2seq.decoding import length_bound
from seq2seq.decoding.strategies import greedy_decode
from seq2seq.serving.text_signature import TextServer
from seq2seq.text.vocabulary import FIRST_SYMBOL_ID, PAD_ID, Vocabularies

#: Padding in the exported signature's inputs and outputs.
SERVE_PAD = -1


def symbols_to_tokens(symbol_ids):
    """int32 symbol ids padded with -1 to token ids padded with PAD."""
    return tf.where(symbol_ids >= 0, symbol_ids + FIRST_SYMBOL_ID, PAD_ID)


def tokens_to_symbols(token_ids):
    """Decoded token ids to symbol ids; EOS, PAD (and any special id) become -1."""
    return tf.where(token_ids >= FIRST_SYMBOL_ID, token_ids - FIRST_SYMBOL_ID, SERVE_PAD)


def input_checks(symbol_ids, symbols: int) -> list:
    """The `serve` signature's input contract, as assertions in the graph (see the module
    docstring)."""
    padding = symbol_ids == SERVE_PAD
    # A symbol after padding: padding that is not only at the end of its row.
    gap = tf.logical_and(padding[:, :-1], tf.logical_not(padding[:, 1:]))
    return [
        tf.debugging.assert_greater_equal(
            symbol_ids, SERVE_PAD, message="symbol_ids: allowed: -1 (padding) or a symbol id >= 0"
        ),
        tf.debugging.assert_less(
            symbol_ids,
            symbols,
            message=f"symbol_ids: allowed: symbol ids 0 .. {symbols - 1}, or -1",
        ),
        tf.debugging.assert_equal(
            tf.reduce_any(gap), False, message="symbol_ids: padding (-1) only at the end of a row"
        ),
    ]


def export_saved_model(
    model: keras.Model,
    path: Path,
    vocabs: Vocabularies | None = None,
    bound: length_bound.LengthBound | None = None,
    normalize: str = "none",
) -> None:
    """Writes `model`'s decoders as a SavedModel: `serve`, and with `vocabs` `serve_text`
    (`serving_default`) and `serve_text_beam`.

    Each endpoint is traced once, by the save; the directory appears whole or not at all.

    Args:
        model: a Seq2Seq model.
        path: the SavedModel directory to write.
        vocabs: the run's vocabularies; with them, the `serve_text` signature too.
        bound: the run's length bound; None: `length_bound.DEFAULT`.
        normalize: the run's `task.normalize`, which the text signatures apply to each
            source (`seq2seq.serving.normalization`).
    """

    symbols = model.vocab_size - FIRST_SYMBOL_ID
    bound = length_bound.DEFAULT if bound is None else bound

    def greedy(token_ids, max_len):
        return greedy_decode(model, token_ids, max_len)

    def serve(symbol_ids):
        with tf.control_dependencies(input_checks(symbol_ids, symbols)):
            symbol_ids = tf.identity(symbol_ids)
        batch = tf.shape(symbol_ids)[0]
        empty_rows = tf.reduce_all(symbol_ids < 0, axis=1)

        def decode():
            decoded, truncated = length_bound.bounded(greedy, symbols_to_tokens(symbol_ids), bound)
            ids = tf.where(empty_rows[:, None], SERVE_PAD, tokens_to_symbols(decoded))
            return ids, tf.logical_and(truncated, tf.logical_not(empty_rows))

        def nothing():
            return tf.fill([batch, 0], SERVE_PAD), tf.zeros([batch], tf.bool)

        has_input = tf.logical_and(batch > 0, tf.logical_not(tf.reduce_all(empty_rows)))
        ids, truncated = tf.cond(has_input, decode, nothing)
        return {"symbol_ids": ids, "truncated": truncated}

    # What Keras' ExportArchive writes (the model's variables, the endpoints as signatures,
    # the first one also `serving_default`), saved directly: the archive traces each
    # endpoint before saving, to list its variables, and the save traces it again under
    # its own context (TensorFlow keys traces by it): 1.2 of a tiny run's 2.1 s of export
    # on a 2-core Intel Xeon. Saved directly, each endpoint is traced once, by the save.
    root = tf.__internal__.tracking.AutoTrackable()  # the archive's root, and its lists
    root.variables = list(model.variables)
    root.trainable_variables = list(model.trainable_variables)
    root.non_trainable_variables = list(model.non_trainable_variables)
    signatures = {}
    if vocabs is not None:
        root.server = TextServer(model, vocabs, bound, normalize)
        text = tf.TensorSpec([None], tf.string, name="text")
        for name in ("serve_text", "serve_text_beam"):
            signatures[name] = _endpoint(getattr(root.server, name), text)
    symbol_ids = tf.TensorSpec([None, None], tf.int32, name="symbol_ids")
    signatures["serve"] = _endpoint(serve, symbol_ids)
    signatures["serving_default"] = next(iter(signatures.values()))  # text, if any
    for name, function in signatures.items():
        setattr(root, name, function)
    with atomic_write(path) as temporary:
        tf.saved_model.save(root, str(temporary), signatures=signatures)


def _endpoint(fn, spec: tf.TensorSpec):
    """`fn` as a SavedModel endpoint taking `spec`: no autograph, as Keras' endpoints (its
    loops are TensorFlow's own)."""
    return tf.function(fn, input_signature=[spec], autograph=False)
