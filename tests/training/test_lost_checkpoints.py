"""A run that lost checkpoints (a deleted `checkpoints/`, the best epoch's file removed by
hand) still finishes: one warning says what is missing, the final model is made of what is
there, and run.json records it; a resume of such a run finishes too."""

import json
import logging
import shutil

import keras
import numpy as np
import pytest

import seq2seq
from conftest import WorseFrom
from seq2seq.base.errors import Interrupted
from seq2seq.weights import averaging
from seq2seq.weights.checkpoints import weights_name

#: Early stopping on the loss; with WorseFrom(1), epoch 1 is the best and epoch 3 the last.
WATCHED = (
    "trainer.epochs=8",
    "trainer.early_stopping.monitor=val/loss",
    "trainer.early_stopping.patience=2",
)


class DeleteAtEpochEnd(keras.callbacks.Callback):
    """Deletes `name` under checkpoints/ (the whole folder when `name` is None) at the end of
    epoch `epoch` (0-based), before that epoch's checkpoint is written."""

    def __init__(self, run_dir, epoch, name=None):
        super().__init__()
        self.run_dir, self.epoch, self.name = run_dir, epoch, name

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            folder = self.run_dir / "checkpoints"
            if self.name is None:
                shutil.rmtree(folder)
            else:
                (folder / self.name).unlink()


class InterruptAtTrainEnd(keras.callbacks.Callback):
    """Ctrl-C after the last epoch's checkpoint, before the final save."""

    def on_train_end(self, logs=None):
        raise KeyboardInterrupt


def record(run_dir) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def warnings_of(caplog) -> list:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def model_weights(model) -> list:
    return [np.asarray(w) for w in model.get_weights()]


def checkpoint_weights(run_dir, epoch, tiny_cfg) -> list:
    model = keras.saving.load_model(run_dir / "model.keras")
    other = seq2seq.build_model(tiny_cfg().model, model.vocab_size)
    other.load_weights(run_dir / "checkpoints" / weights_name(epoch))
    return model_weights(other)


@pytest.mark.slow  # a tiny run of three epochs, about 8 s
def test_a_lost_best_checkpoint_keeps_the_last_epochs_weights_and_says_so(
    tiny_cfg, tmp_path, caplog
):
    run_dir = tmp_path / "run"
    lost = DeleteAtEpochEnd(run_dir, 2, weights_name(1))
    with caplog.at_level(logging.WARNING):
        seq2seq.train(tiny_cfg(*WATCHED), run_dir=str(run_dir), callbacks=[WorseFrom(1), lost])
    saved = record(run_dir)
    assert saved["status"] == "completed" and (run_dir / "metrics.json").is_file()
    assert saved["best_epoch"] == 1 and saved["final_epoch"] == 3 == saved["epochs_trained"]
    assert saved["missing_checkpoints"] == ["epoch-001.weights.h5"]
    missing = [m for m in warnings_of(caplog) if "epoch-001.weights.h5" in m]
    assert missing == [
        f"{run_dir / 'checkpoints' / 'epoch-001.weights.h5'}, the best epoch's checkpoint, "
        "is missing: the final model keeps the weights of epoch 3, the last trained"
    ]
    final = model_weights(keras.saving.load_model(run_dir / "model.keras"))
    for a, b in zip(final, checkpoint_weights(run_dir, 3, tiny_cfg), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow  # a tiny run of three epochs and its resume, about 10 s
def test_a_resume_after_checkpoints_were_deleted_finishes_with_what_there_is(
    tiny_cfg, tmp_path, caplog
):
    run_dir = tmp_path / "run"
    settings = (*WATCHED, "trainer.average_checkpoints=2")
    # checkpoints/ deleted before the last epoch's checkpoint, then the run cut off before
    # its final save: what a resume of the run that once crashed here finds.
    cut = [WorseFrom(1), DeleteAtEpochEnd(run_dir, 2), InterruptAtTrainEnd()]
    with pytest.raises(Interrupted):
        seq2seq.train(tiny_cfg(*settings), run_dir=str(run_dir), callbacks=cut)
    with caplog.at_level(logging.WARNING):
        seq2seq.train(tiny_cfg(*settings, "trainer.resume=true"), run_dir=str(run_dir))
    saved = record(run_dir)
    assert saved["status"] == "completed" and saved["train_steps_this_process"] == 0
    assert saved["best_epoch"] == 1 and saved["final_epoch"] == 3
    # The kept epoch's file and one of the two to average were lost; epoch 3's is averaged.
    assert saved["missing_checkpoints"] == ["epoch-001.weights.h5", "epoch-002.weights.h5"]
    assert saved["averaged_epochs"] == [3]
    assert any("epoch-001.weights.h5, the best epoch's" in m for m in warnings_of(caplog))
    assert any(m.startswith("Cannot average epochs 2: ") for m in warnings_of(caplog))
    final = model_weights(keras.saving.load_model(run_dir / "model.keras"))
    for a, b in zip(final, checkpoint_weights(run_dir, 3, tiny_cfg), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def small_model():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])


def save_epochs(model, directory, values: dict) -> None:
    """Writes a checkpoint per epoch whose every weight is the given value."""
    directory.mkdir()
    for epoch, value in values.items():
        model.set_weights([np.full_like(w, value) for w in model.get_weights()])
        model.save_weights(directory / weights_name(epoch))


def test_averaging_averages_the_epochs_present_and_names_the_missing_ones(tmp_path, caplog):
    model = small_model()
    save_epochs(model, tmp_path / "checkpoints", {1: 1.0, 3: 5.0})
    with caplog.at_level(logging.WARNING):
        done = averaging.average_into(model, tmp_path / "checkpoints", [1, 2, 3])
    assert done == [1, 3]
    for weight in model.get_weights():
        np.testing.assert_array_equal(weight, np.full_like(weight, 3.0))
    assert warnings_of(caplog) == [
        f"Cannot average epochs 2: their checkpoints are not in {tmp_path / 'checkpoints'}; "
        "averaging epochs 1, 3"
    ]


def test_averaging_without_any_checkpoint_leaves_the_model_as_it_is(tmp_path, caplog):
    model = small_model()
    save_epochs(model, tmp_path / "checkpoints", {})
    model.set_weights([np.full_like(w, 7.0) for w in model.get_weights()])
    with caplog.at_level(logging.WARNING):
        done = averaging.average_into(model, tmp_path / "checkpoints", [2, 3])
    assert done == []
    for weight in model.get_weights():
        np.testing.assert_array_equal(weight, np.full_like(weight, 7.0))
    assert warnings_of(caplog) == [
        f"Cannot average epochs 2, 3: their checkpoints are not in {tmp_path / 'checkpoints'}; "
        "the final model keeps the weights it has, not averaged"
    ]
