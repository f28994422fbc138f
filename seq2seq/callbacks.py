"""Keras callbacks that give `model.fit` this framework's validation."""

import keras

from seq2seq.evaluation import Evaluator
from seq2seq.tasks import Split


class GreedyValidation(keras.callbacks.Callback):
    """Adds `val_loss`, `val_token_accuracy` and `val_exact_match` to each epoch's logs.

    Keras' own validation would measure exact-match under teacher forcing; this one
    decodes greedily, as at inference. Place it before the callbacks that read the logs
    (checkpointing, TensorBoard).

    Args:
        evaluator: measures the model on a split.
        split: the validation split.
    """

    def __init__(self, evaluator: Evaluator, split: Split):
        super().__init__()
        self.evaluator = evaluator
        self.split = split

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name, value in self.evaluator(self.split).items():
                logs[f"val_{name}"] = value
