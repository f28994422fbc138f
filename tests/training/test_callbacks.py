"""The callbacks that lean on Keras: what they take from it is still there."""

import keras
import numpy as np
import pytest

from seq2seq.training.callbacks import FlushingTensorBoard, StopOnNonFiniteLoss
from seq2seq_config import RunError


def tiny_fit(callbacks, y_scale=1.0):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.full((8, 1), y_scale, "float32")
    model.fit(x, y, batch_size=4, epochs=1, callbacks=callbacks, verbose=0)


def test_tensorboard_callback_still_keeps_its_writers_where_flushing_reads_them(tmp_path):
    """FlushingTensorBoard reads Keras' private `_writers`; a Keras upgrade that moves
    them fails here, not silently in a run."""
    callback = FlushingTensorBoard(str(tmp_path), histogram_freq=0, write_graph=False)
    tiny_fit([callback])
    assert isinstance(callback._writers, dict) and callback._writers
    assert all(hasattr(writer, "flush") for writer in callback._writers.values())
    assert list((tmp_path / "train").glob("events.out.tfevents.*"))


def test_non_finite_loss_raises_through_keras_terminate_on_nan(tmp_path):
    callback = StopOnNonFiniteLoss(tmp_path)
    assert isinstance(callback, keras.callbacks.TerminateOnNaN) and callback.raise_error
    with pytest.raises(
        RunError, match=r"the loss is inf at epoch 1, step 1; no checkpoint had been written yet"
    ):
        tiny_fit([callback], y_scale=np.float32(3e38))
