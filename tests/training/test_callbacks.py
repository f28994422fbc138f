"""The callbacks that lean on Keras: what they take from it is still there."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seq2seq import RunError
from seq2seq.data.splits import Split
from seq2seq.logs.tensorboard_callbacks import STEP_POINTS_PER_EPOCH, step_frequency
from seq2seq.training.callbacks import FlushingTensorBoard, StepValidation, StopOnNonFiniteLoss


def tiny_fit(callbacks, y_scale=1.0, rows=8, batch_size=4, epochs=1, steps_per_execution=1):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps_per_execution)
    x, y = np.ones((rows, 3), "float32"), np.full((rows, 1), y_scale, "float32")
    model.fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=callbacks, verbose=0)
    return model


def test_tensorboard_callback_still_keeps_its_writers_where_flushing_reads_them(tmp_path):
    """FlushingTensorBoard reads Keras' private `_writers`; a Keras upgrade that moves
    them fails here, not silently in a run."""
    callback = FlushingTensorBoard(str(tmp_path), histogram_freq=0, write_graph=False)
    tiny_fit([callback])
    assert isinstance(callback._writers, dict) and callback._writers
    assert all(hasattr(writer, "flush") for writer in callback._writers.values())
    assert list((tmp_path / "train").glob("events.out.tfevents.*"))
    # The step-level figures go to Keras' private `_train_writer`, one of `_writers`.
    assert callback._train_writer is callback._writers["train"]
    # StepValidation writes to its private `_val_writer`, another of `_writers`.
    assert callback._val_writer is callback._writers["val"]


def test_step_level_figures_are_at_the_optimizer_steps_taken(tmp_path):
    """Under steps_per_execution=3 the batch hook runs once per 3 steps, the last call of
    each 10-step epoch on 1 step (its `batch` past the epoch's end): the figures stand at
    the steps taken, and the last at the optimizer's own count."""
    callback = FlushingTensorBoard(str(tmp_path), histogram_freq=0, write_graph=False)
    model = tiny_fit([callback], rows=10, batch_size=1, epochs=2, steps_per_execution=3)
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0})
    events.Reload()
    steps = [e.step for e in events.Tensors("batch_loss")]
    assert steps == [3, 6, 9, 10, 13, 16, 19, 20]
    assert steps[-1] == int(model.optimizer.iterations)
    assert [e.step for e in events.Tensors("epoch_loss")] == [0, 1]


def test_step_level_figures_come_about_twenty_times_an_epoch():
    assert STEP_POINTS_PER_EPOCH == 20
    assert step_frequency(313) == 15  # the default run: 40,000 sequences in batches of 128
    assert step_frequency(40) == 2 and step_frequency(4) == 1 and step_frequency(None) == 1


def test_step_level_figures_are_written_every_nth_step(tmp_path):
    callback = FlushingTensorBoard(str(tmp_path), histogram_freq=0, write_graph=False)
    tiny_fit([callback], rows=80, batch_size=1)  # 80 steps: one point every 4
    events = EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0})
    events.Reload()
    assert [e.step for e in events.Tensors("batch_loss")] == list(range(4, 81, 4))


def test_non_finite_loss_raises_through_keras_terminate_on_nan(tmp_path):
    callback = StopOnNonFiniteLoss(tmp_path)
    assert isinstance(callback, keras.callbacks.TerminateOnNaN) and callback.raise_error
    with pytest.raises(
        RunError, match=r"the loss is inf at epoch 1, step 1; no checkpoint had been written yet"
    ):
        tiny_fit([callback], y_scale=np.float32(3e38))


class RecordingEvaluator:
    """Stands for the run's Evaluator: records the splits it measures and returns
    figures that tell its calls apart."""

    def __init__(self):
        self.splits = []

    def __call__(self, split):
        self.splits.append(split)
        return {"loss": float(len(self.splits)), "exact_match": len(split) / 1000, "truncated": 7}


def validation_split(rows=300):
    """Rows of different lengths (the longest last), with their texts."""
    sources = [[3 + i % 5] * (1 + i // 100) for i in range(rows)]
    texts = tuple(f"t{i}" for i in range(rows))
    return Split.from_rows(sources, sources, texts, tuple((t,) for t in texts), texts)


def step_validation_fit(tmp_path, points, steps_per_execution=1):
    """Two epochs of 10 steps with a StepValidation of `points` an epoch."""
    evaluator, split = RecordingEvaluator(), validation_split()
    tensorboard = FlushingTensorBoard(str(tmp_path), histogram_freq=0, write_graph=False)
    callback = StepValidation(evaluator, split, points, tensorboard)
    tiny_fit(
        [tensorboard, callback], rows=10, batch_size=1, epochs=2,
        steps_per_execution=steps_per_execution,
    )  # fmt: skip
    return evaluator, split


@pytest.mark.parametrize(
    "steps_per_execution,steps",
    [(1, [3, 5, 8, 10, 13, 15, 18, 20]), (3, [3, 6, 9, 10, 13, 16, 19, 20])],
)
def test_step_validation_writes_the_first_sources_figures_a_few_times_an_epoch(
    tmp_path, steps_per_execution, steps
):
    """4 points an epoch of 10 steps, each epoch's last at its end, at the optimizer steps
    taken (under steps_per_execution=3 too): the evaluator's figures on the split's first
    256 sources, as `validation/batch_*`, but `truncated`, a count."""
    evaluator, split = step_validation_fit(tmp_path, 4, steps_per_execution)
    events = EventAccumulator(str(tmp_path / "validation"), size_guidance={"tensors": 0})
    events.Reload()
    assert [e.step for e in events.Tensors("batch_loss")] == steps
    loss = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("batch_loss")]
    assert loss == [float(call) for call in range(1, 9)]
    exact = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("batch_exact_match")]
    assert exact == pytest.approx([0.256] * 8)
    assert set(events.Tags()["tensors"]) == {"batch_loss", "batch_exact_match"}
    # The same 256 rows each time, their texts with them, at the whole split's widths.
    for measured in evaluator.splits:
        np.testing.assert_array_equal(measured.source_ids, split.source_ids[:256])
        np.testing.assert_array_equal(measured.target_ids, split.target_ids[:256])
        assert measured.source_ids.shape[1] == split.source_ids.shape[1] == 3
        assert measured.target_texts == split.target_texts[:256] == measured.source_texts
        assert measured.references == split.references[:256]


def test_step_validation_at_zero_points_never_decodes(tmp_path):
    evaluator, _ = step_validation_fit(tmp_path, 0)
    assert evaluator.splits == []
    assert not (tmp_path / "validation").exists()
