"""tf.distribute: MirroredStrategy through Keras' fit, MultiWorkerMirroredStrategy with two
worker processes on localhost, and Hydra's submitit launcher running a sweep's jobs."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, TINY, run_script
from seq2seq_config import ConfigError, compose_config, validate

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
    return subprocess.Popen(
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


@pytest.mark.slow  # two processes, each loading TensorFlow
def test_two_workers_on_localhost_agree_and_only_the_chief_writes(tmp_path, data_dir):
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for index in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        processes.append(
            helper(tmp_path / f"w{index}.npz", 1, tmp_path / f"worker{index}", data_dir,
                   "trainer.strategy=multi_worker", env=env)
        )  # fmt: skip
    outputs = [finish(p) for p in processes]
    chief, other = (load_weights(tmp_path / f"w{i}.npz") for i in range(2))
    assert len(chief) == len(other) > 0
    for a, b in zip(chief, other):
        np.testing.assert_allclose(a, b, atol=1e-6)
    chief_dir, other_dir = tmp_path / "worker0", tmp_path / "worker1"
    record = json.loads((chief_dir / "run.json").read_text())
    assert record["strategy"] == "multi_worker" and record["replicas"] == 2, outputs[0][-2000:]
    assert (chief_dir / "checkpoints" / "epoch-001.weights.h5").exists()
    assert list((chief_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert (chief_dir / "model.keras").exists() and (chief_dir / "metrics.json").exists()
    for written in ("checkpoints", "tensorboard", "model.keras", "metrics.json"):
        assert not (other_dir / written).exists(), written


def test_multi_worker_without_tf_config_is_refused_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = subprocess.run(
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
def test_what_multi_worker_does_not_support_is_refused(override, key):
    with pytest.raises(ConfigError) as error:
        validate(compose_config(["trainer.strategy=multi_worker", override]))
    assert error.value.key == key


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
