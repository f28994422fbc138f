"""Faults end cleanly and nothing saved is lost: a failed run does not poison its
directory, an interrupt is recorded with how to resume, damaged records are recovered or
refused, never trusted."""

import json
import shutil

import keras
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seq2seq
from seq2seq import evaluate, predict
from seq2seq.training import finish
from seq2seq_config import RunError, UserError
from seq2seq_config.errors import Interrupted

EPOCHS = ("trainer.epochs=3",)


class InterruptAtEpoch(keras.callbacks.Callback):
    """Ctrl-C as epoch `epoch` (0-based) begins, after the previous one's checkpoint."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class PoisonFirstBatch(keras.callbacks.Callback):
    """Every weight NaN after the first batch: the loss is NaN before any epoch ends."""

    def on_train_batch_end(self, batch, logs=None):
        for weight in self.model.trainable_weights:
            weight.assign(tf.fill(weight.shape, float("nan")))


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory, data_dir):
    """A 3-epoch tiny run stopped by Ctrl-C after its second epoch's checkpoint."""
    from conftest import TINY
    from seq2seq_config import compose_config

    run_dir = tmp_path_factory.mktemp("interrupted") / "run"
    cfg = compose_config([*TINY, f"data_dir={data_dir}", *EPOCHS])
    with pytest.raises(Interrupted) as info:
        seq2seq.train(cfg, run_dir=str(run_dir), callbacks=[InterruptAtEpoch(2)])
    return run_dir, str(info.value)


def copy_of(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def steps_of(run_dir):
    return json.loads((run_dir / "run.json").read_text())["train_steps"]


# --- an interrupt -------------------------------------------------------------------------


def test_an_interrupt_is_recorded_with_how_to_resume(interrupted_run):
    run_dir, message = interrupted_run
    assert message == (
        f"interrupted by SIGINT; epoch 2 is saved; to continue, run the same command with "
        f"hydra.run.dir={run_dir} trainer.resume=true"
    )
    record = json.loads((run_dir / "run.json").read_text())
    assert record == {"status": "interrupted", "signal": "SIGINT", "epochs_finished": 2}
    assert not (run_dir / "metrics.json").exists()


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


# --- a failed run does not poison its directory ---------------------------------------------


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


# --- damaged records ----------------------------------------------------------------------


def resume(run_dir, data_dir):
    from conftest import TINY
    from seq2seq_config import compose_config

    cfg = compose_config([*TINY, f"data_dir={data_dir}", *EPOCHS, "trainer.resume=true"])
    return seq2seq.train(cfg, run_dir=str(run_dir))


def write_latest(run_dir, **changes):
    path = run_dir / "checkpoints" / "latest.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, **changes}))


@pytest.mark.parametrize(
    "damage,trained_steps",
    [
        (lambda d: write_latest(d, epoch=99, weights="epoch-099.weights.h5"), 4),
        (lambda d: write_latest(d, epoch=-3, weights="epoch--03.weights.h5"), 4),
        (lambda d: (d / "checkpoints" / "latest.json").write_text('{"epoch": 2, "wei'), 4),
        (lambda d: (d / "checkpoints" / "epoch-002.weights.h5").unlink(), 8),
        (lambda d: truncate(d / "checkpoints" / "epoch-002.weights.h5"), 8),
    ],
    ids=["epoch 99", "epoch -3", "truncated record", "missing weights", "truncated weights"],
)
def test_a_damaged_checkpoint_record_falls_back_to_the_newest_whole_checkpoint(
    interrupted_run, tmp_path, data_dir, damage, trained_steps
):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    before = tensorboard_steps(run_dir)
    damage(run_dir)
    resume(run_dir, data_dir)
    # 4 steps an epoch: the last epoch alone, or the last two after falling back to epoch 1.
    assert steps_of(run_dir) == trained_steps
    assert (run_dir / "metrics.json").exists()
    kept = 2 if trained_steps == 4 else 1
    assert tensorboard_steps(run_dir)[:kept] == before[:kept]  # earlier epochs' events kept


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def tensorboard_steps(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard" / "train"))
    events.Reload()
    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors("epoch_loss")]


def test_resume_without_the_saved_config_is_refused(interrupted_run, tmp_path, data_dir):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    (run_dir / "config.yaml").unlink()
    with pytest.raises(
        UserError, match="config.yaml is missing, so the run's config cannot be checked"
    ):
        resume(run_dir, data_dir)


@pytest.mark.parametrize("name", ["vocab.json", "model.keras"])
@pytest.mark.parametrize("command", [evaluate.main, predict.main], ids=["evaluate", "predict"])
def test_a_damaged_run_file_is_refused_in_one_line(
    interrupted_run, tmp_path, data_dir, name, command, capsys
):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    resume(run_dir, data_dir)
    (run_dir / name).write_bytes(b"\x00 not what was saved")
    with pytest.raises(SystemExit) as exit_info:
        command([f"run_dir={run_dir}", *(["input=1 2"] if command is predict.main else [])])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: run_dir='{run_dir}': {name} is damaged and cannot be read")
        and "\n" not in err
    )


def test_a_missing_newest_checkpoint_makes_the_one_before_the_latest(interrupted_run, tmp_path):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    (run_dir / "checkpoints" / "epoch-002.weights.h5").unlink()
    from seq2seq.training import checkpoints

    state = checkpoints.latest(run_dir / "checkpoints", epochs=3)
    assert state == {"epoch": 1, "weights": "epoch-001.weights.h5", "random_states": None}
