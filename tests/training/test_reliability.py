"""Reliability: resume after SIGKILL ends exactly as an uninterrupted run; nothing is lost."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import forked
import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seq2seq
from conftest import ROOT, TINY, error_lines, imported_modules, run_script
from seq2seq import RunError, UserError, compose_config
from seq2seq.base.files import remove_temporaries
from seq2seq.weights import checkpoints

# Dropout on, so that resuming must restore the random generators too; the step-level
# validation on, whose `batch_*` figures must be rewound as the training's.
RESUMABLE = (*TINY, "trainer.epochs=5", "model.units=64", "model.embedding_dim=32",
             "model.dropout=0.1", "logging.samples=2",
             "logging.validation_points_per_epoch=2")  # fmt: skip


def train_command(run_dir, data_dir, *extra):
    return [sys.executable, str(ROOT / "train.py"), *RESUMABLE, f"data_dir={data_dir}",
            f"hydra.run.dir={run_dir}", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, data_dir):
    """The uninterrupted run, in its own process like the interrupted ones."""
    run_dir = tmp_path_factory.mktemp("reference")
    forked.run(
        train_command(run_dir, data_dir), cwd=ROOT, check=True, capture_output=True, timeout=600
    )
    return run_dir


def weights_of(run_dir):
    return [np.asarray(w) for w in keras.saving.load_model(run_dir / "model.keras").weights]


def steps_by_tag(log_dir):
    """{(run, tag): [steps]} over every event file under a run's tensorboard/."""
    found = {}
    for directory in {p.parent for p in Path(log_dir).rglob("events.out.tfevents.*")}:
        events = EventAccumulator(str(directory), size_guidance={"tensors": 0})
        events.Reload()
        for tag in events.Tags()["tensors"]:
            found[(directory.name, tag)] = [e.step for e in events.Tensors(tag)]
    return found


def kill_when(run_dir, data_dir, ready, timeout=300):
    """Starts a run and SIGKILLs it as soon as `ready(run_dir)` holds, checked every half
    millisecond once the run has started training (a checkpoint write lasts milliseconds),
    every 10 ms before (a busy loop would take a core from the suite's other worker).

    Returns:
        Whether `ready` held before the run ended by itself.
    """
    process = forked.Popen(
        train_command(run_dir, data_dir),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if ready(run_dir):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.0005 if (run_dir / "config.yaml").exists() else 0.01)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def latest_epoch(run_dir):
    state = checkpoints.latest(run_dir / "checkpoints")
    return 0 if state is None else state["epoch"]


def writing_checkpoint(run_dir):
    return latest_epoch(run_dir) >= 1 and any((run_dir / "checkpoints").glob(".tmp-*"))


KILL_MOMENTS = {
    # Training has started (the config is saved) but no epoch has ended.
    "in the first epoch": lambda run_dir: (run_dir / "config.yaml").exists(),
    # Two checkpoints are complete; the third epoch runs.
    "between checkpoints": lambda run_dir: latest_epoch(run_dir) >= 2,
    # A checkpoint's weights file is being written (after the first complete one).
    "during a checkpoint write": writing_checkpoint,
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(KILL_MOMENTS))
def test_run_killed_then_resumed_ends_exactly_like_an_uninterrupted_one(
    moment, reference_run, data_dir, tmp_path
):
    for attempt in range(5):  # a checkpoint write lasts milliseconds: catch one
        run_dir = tmp_path / f"run{attempt}"
        assert kill_when(run_dir, data_dir, KILL_MOMENTS[moment]), "the run ended before the kill"
        if moment != "during a checkpoint write" or any((run_dir / "checkpoints").glob(".tmp-*")):
            break
    else:
        pytest.skip("no kill landed inside a checkpoint write in 5 attempts")
    # The kill never leaves a broken latest checkpoint: latest.json names a whole file.
    state = checkpoints.latest(run_dir / "checkpoints")
    if moment == "in the first epoch":
        assert state is None
    else:
        assert (run_dir / "checkpoints" / state["weights"]).stat().st_size > 0
    result = forked.run(
        train_command(run_dir, data_dir, "trainer.resume=true"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))
    assert (run_dir / "metrics.json").read_text() == (reference_run / "metrics.json").read_text()
    for resumed, reference in zip(weights_of(run_dir), weights_of(reference_run)):
        np.testing.assert_array_equal(resumed, reference)
    # TensorBoard: every step of every tag exactly once, as in the uninterrupted run.
    steps = steps_by_tag(run_dir / "tensorboard")
    assert steps == steps_by_tag(reference_run / "tensorboard")
    assert steps[("validation", "epoch_exact_match")] == [0, 1, 2, 3, 4]


@pytest.mark.slow
def test_same_config_and_seed_give_identical_metrics(finished_run, tiny_cfg, tmp_path):
    # The first of the two runs is the shared finished run, trained with the same config.
    run_dir, first = finished_run
    second = seq2seq.train(tiny_cfg(*DROPOUT), run_dir=str(tmp_path / "b"))
    assert (run_dir / "metrics.json").read_text() == (tmp_path / "b" / "metrics.json").read_text()
    assert first == second


# --- nothing already saved is lost --------------------------------------------------------


#: The finished run's one change to TINY: dropout on, so that the determinism test's
#: comparison with it covers the dropout's random generators too.
DROPOUT = ("model.dropout=0.1",)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data_dir):
    """One finished tiny run (and the metrics its train returned); the tests below only try
    to overwrite or resume it, or train its config again."""
    run_dir = tmp_path_factory.mktemp("finished")
    metrics = seq2seq.train(
        compose_config([*TINY, *DROPOUT, f"data_dir={data_dir}"]), run_dir=str(run_dir)
    )
    return run_dir, metrics


def snapshot(run_dir):
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_second_run_in_the_same_directory_is_refused_and_overwrites_nothing(finished_run, tiny_cfg):
    finished_run, _ = finished_run
    before = snapshot(finished_run)
    with pytest.raises(
        UserError, match="already holds a run .metrics.json.; pass trainer.resume=true"
    ):
        seq2seq.train(tiny_cfg(), run_dir=str(finished_run))
    assert snapshot(finished_run) == before


@pytest.mark.slow
def test_second_run_from_the_command_line_is_refused_in_one_line(finished_run, data_dir):
    finished_run, _ = finished_run
    before = snapshot(finished_run)
    result = run_script("train.py", *TINY, f"data_dir={data_dir}", f"hydra.run.dir={finished_run}")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: hydra.run.dir='{finished_run}' already holds a run (metrics.json); pass "
        "trainer.resume=true to continue it, or choose another directory"
    ]
    after = snapshot(finished_run)
    assert {k: v for k, v in after.items() if k != "train.log"} == {
        k: v for k, v in before.items() if k != "train.log"
    }


@pytest.mark.slow
def test_resuming_with_another_config_is_refused_naming_the_key(finished_run, tiny_cfg):
    finished_run, _ = finished_run
    with pytest.raises(UserError, match="started with model.units=16, not 32"):
        seq2seq.train(
            tiny_cfg(*DROPOUT, "trainer.resume=true", "model.units=32"), run_dir=str(finished_run)
        )


@pytest.mark.slow
def test_resuming_a_finished_run_changes_nothing(finished_run, tiny_cfg):
    finished_run, _ = finished_run
    before = snapshot(finished_run)
    metrics = seq2seq.train(tiny_cfg(*DROPOUT, "trainer.resume=true"), run_dir=str(finished_run))
    assert metrics == json.loads((finished_run / "metrics.json").read_text())
    assert snapshot(finished_run) == before


@pytest.mark.parametrize("key", ["hydra.run.dir", "data_dir"])
def test_unwritable_directory_is_reported_before_training(key, tmp_path, data_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    directories = {"hydra.run.dir": str(tmp_path / "run"), "data_dir": str(data_dir)}
    directories[key] = str(blocker / "sub")
    args = (f"{k}={v}" for k, v in directories.items())
    result = run_script("train.py", *TINY, *args, import_times=True)
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and str(blocker) in lines[0] and "Traceback" not in result.stderr
    assert "tensorflow" not in imported_modules(result.stderr)  # refused before it loads


# --- checkpoints --------------------------------------------------------------------------


def test_checkpoint_round_trip_restores_weights_optimizer_and_random_states(tiny_cfg, tmp_path):
    from seq2seq.training.compile import compile_model

    cfg = tiny_cfg("model.dropout=0.2")
    model = seq2seq.build_model(cfg.model, 8)
    compile_model(model, cfg.trainer, 10)
    model.optimizer.build(model.trainable_variables)
    for variable in model.variables:
        if variable.dtype == "int64":
            variable.assign(np.full(variable.shape, 7, "int64"))
    model.optimizer.iterations.assign(42)
    checkpoints.save(model, tmp_path, epoch=3)
    (tmp_path / ".tmp-123.weights.h5").write_bytes(b"half a file")  # a killed write

    other = seq2seq.build_model(cfg.model, 8)
    compile_model(other, cfg.trainer, 10)
    state = checkpoints.latest(tmp_path)
    assert state["epoch"] == 3 and state["weights"] == "epoch-003.weights.h5"
    remove_temporaries(tmp_path)
    checkpoints.restore(other, tmp_path, state)
    assert not list(tmp_path.glob(".tmp-*"))
    assert int(other.optimizer.iterations) == 42
    for a, b in zip(model.variables, other.variables):
        np.testing.assert_array_equal(a, b)


# --- non-finite loss ----------------------------------------------------------------------


class PoisonWeights(keras.callbacks.Callback):
    """Sets every weight to NaN after the first batch of the second epoch."""

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch == 1 and batch == 0:
            for weight in self.model.trainable_weights:
                weight.assign(tf.fill(weight.shape, float("nan")))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


@pytest.mark.slow
def test_nan_loss_stops_training_saying_where_and_keeps_the_last_good_checkpoint(
    tiny_cfg, tmp_path
):
    with pytest.raises(
        RunError,
        match=r"the loss is nan at epoch 2, step 2; the last good checkpoint, epoch-001.weights.h5, is kept",
    ):
        seq2seq.train(
            tiny_cfg("trainer.epochs=3"), run_dir=str(tmp_path), callbacks=[PoisonWeights()]
        )
    assert checkpoints.latest(tmp_path / "checkpoints")["epoch"] == 1
    assert not (tmp_path / "checkpoints" / "epoch-002.weights.h5").exists()
    with h5py.File(tmp_path / "checkpoints" / "epoch-001.weights.h5") as f:
        arrays = []
        f.visititems(
            lambda name, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None
        )
    assert arrays and all(np.all(np.isfinite(a)) for a in arrays)  # the last good one
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and "nan" in record["error"]
    assert not (tmp_path / "metrics.json").exists()


@pytest.mark.slow
def test_non_finite_loss_from_the_command_line_is_one_line_and_non_zero(data_dir, tmp_path):
    result = run_script(
        "train.py", *TINY, "trainer.learning_rate=1e38", "trainer.clipnorm=null",
        f"data_dir={data_dir}", f"hydra.run.dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: training stopped: the loss is ")
    assert lines[0].endswith("at epoch 1, step 2; no checkpoint had been written yet")
    assert "Traceback" not in result.stderr
