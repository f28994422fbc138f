"""Damaged records are recovered or refused, never trusted: a checkpoint record that lies,
a checkpoint that is missing or truncated, a run's config or files that are gone or damaged."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seq2seq
from conftest import InterruptAtEpoch, steps_of
from seq2seq import UserError, evaluate, predict
from seq2seq.base.errors import Interrupted
from seq2seq.training.compile import compile_model
from seq2seq.weights import checkpoints

EPOCHS = ("trainer.epochs=3",)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory, data_dir):
    """A 3-epoch tiny run stopped by Ctrl-C after its second epoch's checkpoint."""
    from conftest import TINY
    from seq2seq import compose_config

    run_dir = tmp_path_factory.mktemp("interrupted") / "run"
    cfg = compose_config([*TINY, f"data_dir={data_dir}", *EPOCHS])
    with pytest.raises(Interrupted) as info:
        seq2seq.train(cfg, run_dir=str(run_dir), callbacks=[InterruptAtEpoch(2)])
    return run_dir, str(info.value)


def copy_of(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def resume(run_dir, data_dir):
    from conftest import TINY
    from seq2seq import compose_config

    cfg = compose_config([*TINY, f"data_dir={data_dir}", *EPOCHS, "trainer.resume=true"])
    return seq2seq.train(cfg, run_dir=str(run_dir))


def write_latest(run_dir, **changes):
    path = run_dir / "checkpoints" / "latest.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, **changes}))


DAMAGES = {
    "epoch 99": lambda d: write_latest(d, epoch=99, weights="epoch-099.weights.h5"),
    "epoch -3": lambda d: write_latest(d, epoch=-3, weights="epoch--03.weights.h5"),
    "truncated record": lambda d: (d / "checkpoints" / "latest.json").write_text(
        '{"epoch": 2, "wei'
    ),
    "missing weights": lambda d: (d / "checkpoints" / "epoch-002.weights.h5").unlink(),
    "truncated weights": lambda d: truncate(d / "checkpoints" / "epoch-002.weights.h5"),
}
#: The epoch each damage leaves to resume from: the newest checkpoint that loads.
RESUMES_FROM = {
    "epoch 99": 2,
    "epoch -3": 2,
    "truncated record": 2,
    "missing weights": 1,
    "truncated weights": 1,
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_checkpoint_gives_way_to_the_newest_one_that_loads(
    interrupted_run, tmp_path, tiny_cfg, damage
):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    DAMAGES[damage](run_dir)
    directory = run_dir / "checkpoints"
    cfg = tiny_cfg(*EPOCHS)
    model = seq2seq.build_model(cfg.model, 8)
    compile_model(model, cfg.trainer, 12)
    state = checkpoints.restore(model, directory, checkpoints.latest(directory, epochs=3))
    assert state["epoch"] == RESUMES_FROM[damage]
    expected = seq2seq.build_model(cfg.model, 8)
    expected.load_weights(directory / f"epoch-{state['epoch']:03d}.weights.h5")
    for a, b in zip(model.weights, expected.weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_lying_record_does_not_end_a_half_trained_run_nor_drop_its_events(
    interrupted_run, tmp_path, data_dir
):
    """latest.json naming epoch 99 of 3 once marked the run complete."""
    run_dir = copy_of(interrupted_run[0], tmp_path)
    before = tensorboard_steps(run_dir)
    DAMAGES["epoch 99"](run_dir)
    resume(run_dir, data_dir)
    assert steps_of(run_dir) == 4  # the third epoch, trained after all
    assert tensorboard_steps(run_dir)[:2] == before[:2]  # the first two epochs' events kept


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def tensorboard_steps(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard" / "train"))
    events.Reload()
    return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors("epoch_loss")]


@pytest.mark.slow
def test_resume_without_the_saved_config_is_refused(interrupted_run, tmp_path, data_dir):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    (run_dir / "config.yaml").unlink()
    with pytest.raises(
        UserError, match="config.yaml is missing, so the run's config cannot be checked"
    ):
        resume(run_dir, data_dir)


@pytest.fixture(scope="module")
def finished_run(interrupted_run, tmp_path_factory, data_dir):
    """The interrupted run, resumed to its end."""
    run_dir = copy_of(interrupted_run[0], tmp_path_factory.mktemp("finished"))
    resume(run_dir, data_dir)
    return run_dir


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vocab.json", "model.keras"])
@pytest.mark.parametrize("command", [evaluate.main, predict.main], ids=["evaluate", "predict"])
def test_a_damaged_run_file_is_refused_in_one_line(finished_run, tmp_path, name, command, capsys):
    run_dir = copy_of(finished_run, tmp_path)
    (run_dir / name).write_bytes(b"\x00 not what was saved")
    with pytest.raises(SystemExit) as exit_info:
        command([f"run_dir={run_dir}", *(["input=1 2"] if command is predict.main else [])])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: run_dir='{run_dir}': {name} is damaged and cannot be read")
        and "\n" not in err
    )


@pytest.mark.slow
def test_a_missing_newest_checkpoint_makes_the_one_before_the_latest(interrupted_run, tmp_path):
    run_dir = copy_of(interrupted_run[0], tmp_path)
    (run_dir / "checkpoints" / "epoch-002.weights.h5").unlink()
    state = checkpoints.latest(run_dir / "checkpoints", epochs=3)
    assert state == {"epoch": 1, "weights": "epoch-001.weights.h5", "random_states": None}
