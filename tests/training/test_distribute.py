"""tf.distribute: MirroredStrategy through Keras' fit, MultiWorkerMirroredStrategy with two
worker processes on localhost, and Hydra's submitit launcher running a sweep's jobs."""

import json
import os
import socket
import subprocess
import sys

import forked
import numpy as np
import pytest

from conftest import ROOT, TINY, error_lines, imported_modules, run_script
from seq2seq import ConfigError, compose_config, validate

HELPER = ROOT / "tests" / "helpers" / "distributed_run.py"
FEW_STEPS = (*TINY, "trainer.epochs=1", "logging.samples=0", "logging.histogram_freq=0")


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def helper(weights, cpus, run_dir, data_dir, *overrides, env=None):
    return forked.Popen(
        [sys.executable, str(HELPER), str(weights), str(cpus), *FEW_STEPS,
         f"data_dir={data_dir}", f"hydra.run.dir={run_dir}", *overrides],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def finish(process, timeout=300):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output


def load_weights(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.slow  # a process of its own, on two logical devices
def test_mirrored_strategy_trains_two_replicas_with_keras_fit(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    finish(helper(tmp_path / "w.npz", 2, run_dir, data_dir, "trainer.strategy=mirrored"))
    record = json.loads((run_dir / "run.json").read_text())
    assert record["strategy"] == "mirrored" and record["replicas"] == 2
    assert (run_dir / "metrics.json").exists() and (
        run_dir / "checkpoints" / "latest.json"
    ).exists()


#: Every feature the framework's own multi-worker loop runs, in one run of two workers: early
#: stopping that waits 2 epochs for a val/loss better by 100 (so epoch 1 stays the best and
#: the run stops after epoch 3 of 4), one checkpoint kept besides the best, and the
#: TensorBoard views on as by default.
MULTI_WORKER_FEATURES = (
    "trainer.strategy=multi_worker",
    "trainer.epochs=4",
    "trainer.early_stopping.monitor=val/loss",
    "trainer.early_stopping.patience=2",
    "trainer.early_stopping.min_delta=100",
    "trainer.early_stopping.goal=null",
    "trainer.keep_checkpoints=1",
    "logging.samples=2",
    "logging.images=true",
    "logging.histogram_freq=1",
    "logging.validation_points_per_epoch=2",
)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, data_dir):
    """Two worker processes on localhost ports, each with a run directory of its own (so
    that no worker reads another's files): the directory, the output and the kept weights
    of each, chief first."""
    tmp_path = tmp_path_factory.mktemp("two_workers")
    cluster = {"worker": [f"localhost:{p}" for p in free_ports(2)]}
    processes = []
    for index in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        processes.append(
            helper(tmp_path / f"w{index}.npz", 1, tmp_path / f"worker{index}", data_dir,
                   *MULTI_WORKER_FEATURES, env=env)
        )  # fmt: skip
    outputs = [finish(p) for p in processes]
    return [
        {
            "dir": tmp_path / f"worker{i}",
            "output": outputs[i],
            "weights": load_weights(tmp_path / f"w{i}.npz"),
            "steps": json.loads((tmp_path / f"w{i}.json").read_text())["train_steps"],
        }
        for i in range(2)
    ]


@pytest.mark.slow  # two processes, each loading TensorFlow
def test_two_workers_on_localhost_agree_and_only_the_chief_writes(two_workers):
    chief, other = two_workers
    assert len(chief["weights"]) == len(other["weights"]) > 0
    for a, b in zip(chief["weights"], other["weights"]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    record = json.loads((chief["dir"] / "run.json").read_text())
    assert record["strategy"] == "multi_worker" and record["replicas"] == 2, chief["output"][-2000:]
    assert (chief["dir"] / "checkpoints" / "epoch-001.weights.h5").exists()
    assert (chief["dir"] / "model.keras").exists() and (chief["dir"] / "metrics.json").exists()
    for written in ("checkpoints", "tensorboard", "model.keras", "metrics.json"):
        assert not (other["dir"] / written).exists(), written


@pytest.mark.slow  # the two-worker run
def test_multi_worker_early_stopping_stops_both_workers_and_keeps_the_best_epoch(two_workers):
    chief, other = two_workers
    record = json.loads((chief["dir"] / "run.json").read_text())
    assert record["epochs_trained"] == 3, record  # not trainer.epochs=4
    assert record["best_epoch"] == record["final_epoch"] == 1
    assert record["monitor"] == "val/loss"
    assert record["stopped"] == "early stopping: val/loss did not improve for 2 epochs"
    # Both workers took the steps of 3 epochs: the other stopped with the chief.
    assert chief["steps"] == other["steps"] == record["train_steps"]
    assert record["train_steps"] % 3 == 0 and record["train_steps"] > 0
    # Each kept epoch 1's weights (the other from memory): they agree, and are not the
    # last epoch's, which the chief's checkpoint of epoch 3 holds.
    latest = json.loads((chief["dir"] / "checkpoints" / "latest.json").read_text())
    assert latest["epoch"] == 3 and latest["early_stopping"]["best_epoch"] == 0


@pytest.mark.slow  # the two-worker run
def test_multi_worker_keeps_keep_checkpoints_and_the_best_epoch(two_workers):
    directory = two_workers[0]["dir"] / "checkpoints"
    kept = sorted(p.name for p in directory.glob("epoch-*.weights.h5"))
    # keep_checkpoints=1: the newest, and the best epoch's, which is never pruned.
    assert kept == ["epoch-001.weights.h5", "epoch-003.weights.h5"]


@pytest.mark.slow  # the two-worker run
def test_multi_worker_writes_validation_samples_images_and_histograms(two_workers):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def events(directory):
        accumulator = EventAccumulator(str(directory), size_guidance={"tensors": 0})
        accumulator.Reload()
        return accumulator

    board = two_workers[0]["dir"] / "tensorboard"
    root = events(board)
    assert {"config", "decoded_samples", "states"} <= set(root.Tags()["tensors"])
    assert [e.step for e in root.Tensors("decoded_samples")] == [0, 1, 2]
    train = events(board / "train").Tags()["tensors"]
    assert {"epoch_loss", "epoch_learning_rate"} <= set(train)
    assert any(t.endswith("/histogram") for t in train)
    validation = events(board / "validation")
    assert {"epoch_loss", "epoch_exact_match", "epoch_bleu"} <= set(validation.Tags()["tensors"])
    assert [e.step for e in validation.Tensors("epoch_exact_match")] == [0, 1, 2]
    # The step-level validation on the chief, mid-epoch while the other worker waits:
    # twice in each of the 3 epochs, the second at the epoch's last optimizer step.
    record = json.loads((two_workers[0]["dir"] / "run.json").read_text())
    per_epoch = record["train_steps"] // 3
    steps = [e.step for e in validation.Tensors("batch_exact_match")]
    assert len(steps) == 6 and steps[1::2] == [per_epoch, 2 * per_epoch, 3 * per_epoch]


def test_multi_worker_refuses_callbacks_of_the_caller(tmp_path, data_dir):
    import keras

    import seq2seq
    from seq2seq import UserError

    cfg = compose_config([*TINY, f"data_dir={data_dir}", "trainer.strategy=multi_worker"])
    with pytest.raises(UserError, match="callbacks= is not supported with trainer.strategy="):
        seq2seq.train(cfg, run_dir=str(tmp_path / "run"), callbacks=[keras.callbacks.Callback()])
    assert not (tmp_path / "run").exists()  # refused before the run directory is made


@pytest.mark.slow  # a process that loads TensorFlow (about 6 s): the refusals below are fast
def test_multi_worker_without_tf_config_is_refused_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = forked.run(
        [sys.executable, "train.py", *TINY, "trainer.strategy=multi_worker",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "TF_CONFIG" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "override, key",
    [
        ("trainer.resume=true", "trainer.resume"),
        ("trainer.steps_per_execution=4", "trainer.steps_per_execution"),
        ("trainer.precision=mixed_float16", "trainer.precision"),
    ],
)
def test_what_multi_worker_does_not_support_is_refused(override, key, tmp_path):
    with pytest.raises(ConfigError) as error:
        validate(compose_config(["trainer.strategy=multi_worker", override]))
    assert error.value.key == key
    # On the command line: one line, exit 2, before TensorFlow loads.
    result = run_script(
        "train.py", "trainer.strategy=multi_worker", override,
        f"hydra.run.dir={tmp_path}/run", timeout=60, import_times=True,
    )  # fmt: skip
    lines = error_lines(result.stderr)
    assert result.returncode == 2
    assert lines == [lines[0]] and lines[0].startswith(f"error: {key}="), result.stderr
    assert "trainer.strategy=multi_worker supports only" in lines[0]
    assert not {"tensorflow", "keras"} & imported_modules(result.stderr)


@pytest.mark.slow  # a sweep of processes, each loading TensorFlow
def test_submitit_local_launcher_runs_a_sweep(tmp_path, data_dir):
    result = run_script(
        "train.py", "-m", "hydra/launcher=submitit_local", *FEW_STEPS,
        "trainer.epochs=1", "model.units=8,16", f"data_dir={data_dir}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.launcher.timeout_min=10",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        assert (tmp_path / "sweep" / job / "metrics.json").exists(), job
    assert "completed" in (tmp_path / "sweep" / "summary.csv").read_text()
