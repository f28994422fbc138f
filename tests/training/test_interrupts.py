"""Faults end cleanly and nothing saved is lost: an interrupt is recorded with how to
resume, even in the final save, and a run that failed before finishing an epoch does not
poison its directory."""

import json
import signal

import keras
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seq2seq
from conftest import InterruptAtEpoch, steps_of
from seq2seq import RunError, evaluate
from seq2seq.base.errors import Interrupted, Terminated
from seq2seq.base.version import __version__
from seq2seq.cli.runner import exit_on_user_error
from seq2seq.data import pipeline
from seq2seq.training import finish


class PoisonFirstBatch(keras.callbacks.Callback):
    """Every weight NaN after the first batch: the loss is NaN before any epoch ends."""

    def on_train_batch_end(self, batch, logs=None):
        for weight in self.model.trainable_weights:
            weight.assign(tf.fill(weight.shape, float("nan")))


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory, data_dir):
    """A 3-epoch tiny run stopped by Ctrl-C after its second epoch's checkpoint."""
    from conftest import TINY
    from seq2seq import compose_config

    run_dir = tmp_path_factory.mktemp("interrupted") / "run"
    cfg = compose_config([*TINY, f"data_dir={data_dir}", "trainer.epochs=3"])
    with pytest.raises(Interrupted) as info:
        seq2seq.train(cfg, run_dir=str(run_dir), callbacks=[InterruptAtEpoch(2)])
    return run_dir, str(info.value)


# --- an interrupt -------------------------------------------------------------------------


@pytest.mark.slow
def test_an_interrupt_is_recorded_with_how_to_resume(interrupted_run):
    run_dir, message = interrupted_run
    assert message == (
        f"interrupted by SIGINT; epoch 2 is saved; to continue, run the same command with "
        f"hydra.run.dir={run_dir} trainer.resume=true"
    )
    record = json.loads((run_dir / "run.json").read_text())
    assert record == {
        "version": __version__,
        "status": "interrupted",
        "signal": "SIGINT",
        "epochs_finished": 2,
    }
    assert not (run_dir / "metrics.json").exists()


@pytest.mark.slow  # test-fast resumes after an interrupt at the end of training elsewhere
def test_an_interrupt_during_the_final_save_leaves_an_unfinished_run_that_resumes(
    tiny_cfg, tmp_path, monkeypatch, capsys
):
    def interrupted_export(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(finish, "export_saved_model", interrupted_export)
    with pytest.raises(Interrupted, match="epoch 1 is saved"):
        seq2seq.train(tiny_cfg(), run_dir=str(tmp_path))
    assert (tmp_path / "model.keras").exists() and not (tmp_path / "metrics.json").exists()
    with pytest.raises(SystemExit):  # evaluate does not take it for a finished run
        evaluate.main([f"run_dir={tmp_path}"])
    assert (
        "no finished run there (metrics.json is missing); the run did not finish"
        in capsys.readouterr().err
    )
    monkeypatch.undo()
    metrics = seq2seq.train(tiny_cfg("trainer.resume=true"), run_dir=str(tmp_path))
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert steps_of(tmp_path) == 0  # every epoch had been trained: only the save was left


def interrupting_generator(interrupt, at_epoch):
    """`EpochBatches._planned` raising `interrupt` as epoch `at_epoch` (0-based) is read:
    in a thread of tf.data's, where TensorFlow wraps it in an error of its own."""
    planned = pipeline.EpochBatches._planned

    def _planned(self):
        if self.epoch == at_epoch:
            raise interrupt
        yield from planned(self)

    return _planned


@pytest.mark.slow
@pytest.mark.parametrize("interrupt,name", [(KeyboardInterrupt, "SIGINT"), (Terminated, "SIGTERM")])
def test_an_interrupt_inside_a_tf_data_generator_ends_in_one_line(
    interrupt, name, tiny_cfg, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(pipeline.EpochBatches, "_planned", interrupting_generator(interrupt, 1))
    cfg = tiny_cfg("trainer.epochs=2", "trainer.group_by_length=true")  # batches from a generator
    with pytest.raises(Interrupted) as info:
        seq2seq.train(cfg, run_dir=str(tmp_path))
    assert str(info.value) == (
        f"interrupted by {name}; epoch 1 is saved; to continue, run the same command with "
        f"hydra.run.dir={tmp_path} trainer.resume=true"
    )  # TensorFlow's `[[{{node PyFunc}}]]` and traceback are not part of it
    assert json.loads((tmp_path / "run.json").read_text())["signal"] == name
    # Before a run could record it (evaluate, predict): one line and the signal's status.

    def interrupted():
        raise interrupt
        yield

    dataset = tf.data.Dataset.from_generator(interrupted, output_signature=tf.TensorSpec([]))
    with pytest.raises(SystemExit) as exit_info, exit_on_user_error():
        next(iter(dataset))
    assert exit_info.value.code == 128 + int(signal.Signals[name])
    assert capsys.readouterr().err == f"error: interrupted ({name})\n"


# --- a failed run does not poison its directory ---------------------------------------------


@pytest.mark.slow
def test_a_run_that_failed_before_its_first_epoch_leaves_room_for_a_new_one(tiny_cfg, tmp_path):
    with pytest.raises(RunError, match="no checkpoint had been written yet"):
        seq2seq.train(tiny_cfg(), run_dir=str(tmp_path), callbacks=[PoisonFirstBatch()])
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "failed"
    # The corrected command (another config) and a resume are both accepted.
    seq2seq.train(tiny_cfg("model.units=12"), run_dir=str(tmp_path))
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "completed"
    events = EventAccumulator(str(tmp_path / "tensorboard" / "train"))
    events.Reload()
    assert [e.step for e in events.Tensors("epoch_loss")] == [0]  # the failed attempt's are gone
