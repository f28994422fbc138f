"""Held-out metrics: teacher-forced loss and token accuracy, exact-match on decoded outputs.

Exact-match never sees the target: decoding starts from BOS and feeds back its own
predictions (greedy by default; beam search or sampling on request), as the model
would be used. Decoding runs for at most each batch's target length (EOS included):
an output that has not ended by then cannot match.
"""

import keras
import numpy as np
import tensorflow as tf

from seq2seq.data import pipeline
from seq2seq.data.splits import Split
from seq2seq.evaluation.decoding import decode, decoding_options
from seq2seq.evaluation.metrics import token_accuracy


class Evaluator:
    """Measures a model on whole splits; its per-batch step is compiled once.

    Args:
        model: a Seq2Seq model.
        batch_size: sequences per batch.
        strategy: a decoding strategy's name (see `decoding.STRATEGIES`).
        **options: the strategy's options (see `decoding.decode`).
    """

    def __init__(self, model: keras.Model, batch_size: int, strategy="greedy", **options):
        self.model = model
        self.batch_size = batch_size
        self.strategy = strategy
        self.options = options
        self._loss = keras.metrics.Mean(name="loss")
        self._token_accuracy = token_accuracy()
        self._step = tf.function(self._update, reduce_retracing=True)

    def _update(self, x, y, sample_weight):
        logits = self.model(x, training=False)
        token_loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        self._loss.update_state(token_loss, sample_weight=sample_weight)
        self._token_accuracy.update_state(y, logits, sample_weight=sample_weight)
        decoded = decode(
            self.model, x["encoder_token_ids"], tf.shape(y)[1], self.strategy, **self.options
        )
        # Right when every position up to and including EOS is; padding is not compared.
        right = tf.logical_or(tf.equal(decoded, y), tf.equal(sample_weight, 0))
        return tf.reduce_all(right, axis=1)

    def sequence_results(self, split: Split) -> np.ndarray:
        """Whether each sequence of the split decodes exactly right, in split order."""
        batches = pipeline.evaluation_dataset(split, self.batch_size)
        return np.concatenate([self._step(x, y, w).numpy() for x, y, w in batches])

    def __call__(self, split: Split, by_length: bool = False) -> dict[str, object]:
        """Metrics of the model on one split.

        Args:
            split: the sequences to measure.
            by_length: also report exact-match for each target length.

        Returns:
            `{"loss", "token_accuracy", "exact_match"}` as floats (loss and accuracy are
            means over target tokens, EOS included, padding excluded), and with
            `by_length` an `exact_match_by_length` dict `{length: exact-match}`.
        """
        self._loss.reset_state()
        self._token_accuracy.reset_state()
        right = self.sequence_results(split)
        metrics: dict[str, object] = {
            "loss": float(self._loss.result()),
            "token_accuracy": float(self._token_accuracy.result()),
            "exact_match": float(right.mean()),
        }
        if by_length:
            metrics["exact_match_by_length"] = exact_match_by_length(right, split.target_lengths)
        return metrics


def exact_match_by_length(right: np.ndarray, lengths: np.ndarray) -> dict[int, float]:
    """Exact-match among the sequences of each target length (symbols, EOS not counted)."""
    return {int(n): float(right[lengths == n].mean()) for n in np.unique(lengths)}


def make_evaluator(model, batch_size: int, decoding_cfg: object | None = None) -> Evaluator:
    """An Evaluator decoding as the `decoding` group says (greedy without one)."""
    if decoding_cfg is None:
        return Evaluator(model, batch_size)
    return Evaluator(model, batch_size, decoding_cfg.strategy, **decoding_options(decoding_cfg))
