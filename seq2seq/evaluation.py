"""Held-out metrics: teacher-forced loss and token accuracy, exact-match on greedy decoding.

Exact-match here never sees the target: decoding starts from BOS and feeds back its own
predictions, as the model would be used.
"""

from typing import Dict

import keras
import tensorflow as tf

from seq2seq import data
from seq2seq.decoding import greedy_decode
from seq2seq.metrics import ExactMatch, token_accuracy
from seq2seq.tasks import Split


class Evaluator:
    """Measures a model on whole splits; its per-batch step is compiled once.

    Args:
        model: a Seq2Seq model.
        batch_size: sequences per batch.
    """

    def __init__(self, model: keras.Model, batch_size: int):
        self.model = model
        self.batch_size = batch_size
        self._loss = keras.metrics.Mean(name="loss")
        self._token_accuracy = token_accuracy()
        self._exact_match = ExactMatch()
        self._metrics = (self._loss, self._token_accuracy, self._exact_match)
        self._step = tf.function(self._update, reduce_retracing=True)

    def _update(self, x, y, sample_weight):
        logits = self.model(x, training=False)
        token_loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        self._loss.update_state(token_loss, sample_weight=sample_weight)
        self._token_accuracy.update_state(y, logits, sample_weight=sample_weight)
        decoded = greedy_decode(self.model, x["encoder_token_ids"], tf.shape(y)[1])
        self._exact_match.update_state(y, decoded, sample_weight=sample_weight)

    def __call__(self, split: Split) -> Dict[str, float]:
        """Metrics of the model on one split.

        Returns:
            `{"loss", "token_accuracy", "exact_match"}` as floats; loss and accuracy
            are means over target tokens (EOS included, padding excluded).
        """
        for metric in self._metrics:
            metric.reset_state()
        for x, y, sample_weight in data.evaluation_dataset(split, self.batch_size):
            self._step(x, y, sample_weight)
        return {metric.name: float(metric.result()) for metric in self._metrics}
