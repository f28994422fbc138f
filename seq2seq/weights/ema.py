"""The moving average of the weights (`trainer.ema_momentum`), swapped into the model
wherever the run reads its weights.

Keras' optimizer keeps the average (`use_ema`) and writes it into the model when `fit`
ends. Everything else a run reads during training (validation, TensorBoard, checkpoints,
the averaging of checkpoints) must see it too: `EmaIn` swaps the average into the model
first thing at each epoch's end, `EmaOut` swaps the trained weights back last, so that
every callback between them reads the average and training carries on from the trained
weights. A checkpoint so holds the average as the model's weights and the trained
weights in the optimizer's slot; `swap` after restoring one puts them back in place.

Why not `keras.callbacks.SwapEMAWeights`: it swaps around Keras' `evaluate`, which the
run's validation does not use, and with `swap_on_epoch=True` it leaves the average in the
model when `fit` finalizes, which then overwrites it with the trained weights unless the
last epoch is the one `fit` was told (early stopping ends sooner).
"""

import contextlib

import keras
import tensorflow as tf


def swap(model: keras.Model) -> None:
    """Exchanges the model's trainable weights and the optimizer's moving averages in place.

    Args:
        model: a model compiled with an optimizer built with `use_ema=True`.
    """
    optimizer = model.optimizer
    # Private attributes: Keras has no public accessor for the averages, and its own
    # SwapEMAWeights reads these two lists.
    for weights, average in zip(
        optimizer._trainable_variables, optimizer._model_variables_moving_average
    ):
        trained = tf.identity(weights.value)
        weights.assign(average.value)
        average.assign(trained)


@contextlib.contextmanager
def averaged(model: keras.Model):
    """The model holds the moving average inside the block, its trained weights after it.

    Args:
        model: a compiled model; one whose optimizer keeps no average is left as it is.
    """
    on = uses_ema(model)
    if on:
        swap(model)
    try:
        yield
    finally:
        if on:
            swap(model)


def uses_ema(model: keras.Model) -> bool:
    """Whether the model's optimizer keeps a moving average of the weights."""
    return bool(getattr(model.optimizer, "use_ema", False))


class EmaIn(keras.callbacks.Callback):
    """Swaps the moving average into the model at each epoch's end: put it first."""

    def on_epoch_end(self, epoch, logs=None):
        swap(self.model)


class EmaOut(keras.callbacks.Callback):
    """Swaps the trained weights back at each epoch's end: put it after the checkpoint."""

    def on_epoch_end(self, epoch, logs=None):
        swap(self.model)
