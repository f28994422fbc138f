"""Sequence metrics: padding never counts.

Token accuracy is Keras' SparseCategoricalAccuracy weighted by the padding mask;
exact-match needs a metric of its own, since Keras has none over whole sequences.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seq2seq")
class ExactMatch(keras.metrics.Mean):
    """Share of sequences in which every token up to and including EOS is right.

    Args:
        name: metric name.

    Update arguments:
        y_true: int (batch, time) target ids.
        y_pred: logits (batch, time, vocab), whose argmax is taken, or ids (batch, time).
        sample_weight: (batch, time) padding mask; positions with weight 0 are not
            compared. Without it every position is compared.
    """

    def __init__(self, name="exact_match", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if len(y_pred.shape) == 3:
            y_pred = ops.argmax(y_pred, axis=-1)
        correct = ops.equal(ops.cast(y_pred, "int32"), ops.cast(y_true, "int32"))
        if sample_weight is not None:
            correct = ops.logical_or(correct, ops.equal(sample_weight, 0))
        return super().update_state(ops.cast(ops.all(correct, axis=-1), self.dtype))


def token_accuracy() -> keras.metrics.Metric:
    """Accuracy over target tokens; pass the padding mask as sample weight."""
    return keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")
