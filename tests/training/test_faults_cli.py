"""Faults of real processes end in one line: Ctrl-C and SIGTERM (recorded, with how to
resume), a full disk, a read-only run directory. Each is followed by the run that the
message says to start, which finishes."""

import json
import os
import signal
import subprocess
import sys
import time

import forked
import pytest

from conftest import ROOT, TINY, error_lines
from seq2seq.weights import checkpoints

# Six tiny epochs of 32 steps: each signal lands after a checkpoint, well before the end.
LONG = (*TINY, "task.train_size=2048", "trainer.epochs=6")


def train_command(run_dir, data_dir, *extra):
    return [
        sys.executable,
        str(ROOT / "train.py"),
        *LONG,
        f"data_dir={data_dir}",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


@pytest.fixture
def tmpfs(tmp_path):
    """A small filesystem of its own (root only: mount), unmounted afterwards."""
    mount = tmp_path / "mnt"
    mount.mkdir()

    def make(size, read_only=False):
        options = f"size={size}" + (",ro" if read_only else "")
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        return mount

    yield make
    subprocess.run(["umount", str(mount)], capture_output=True)


def leftovers(directory):
    return [p for p in directory.rglob(".tmp-*")]


def saved_epoch(run_dir):
    """The epoch of the run's latest checkpoint; 0 before the first."""
    state = checkpoints.latest(run_dir / "checkpoints")
    return 0 if state is None else state["epoch"]


def _as_from_a_shell():
    """The signal state a shell starts a user's command with: SIGINT and SIGTERM at their
    defaults, none blocked. The suite's may differ: a non-interactive shell starts a
    background job (`make test &`) with SIGINT ignored, every process below inherits that,
    and Python keeps an ignored SIGINT ignored: such a suite's run ran to its end through
    the SIGINT sent to it (status 0)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for received in (signal.SIGINT, signal.SIGTERM):
        signal.signal(received, signal.SIG_DFL)


def interrupt_after_a_checkpoint(run_dir, command, received, status):
    """Starts `command`, sends `received` once it has saved a checkpoint past the one it
    started from, and checks the one line it ends with and what run.json records."""
    start = saved_epoch(run_dir) if run_dir.exists() else 0
    # A fresh interpreter, not a forked one (tests/forked.py): once in a suite a forked run
    # ended by SIGABRT (-6) where SIGTERM's 143 was due (not understood yet); what a signal
    # does to a command is tested as a user's command gets it.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=_as_from_a_shell)  # fmt: skip
    deadline = time.monotonic() + 300
    while process.poll() is None and not (
        (run_dir / "checkpoints" / "latest.json").exists() and saved_epoch(run_dir) > start
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(received)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status, stderr[-3000:]
    assert "Traceback" not in stderr
    [line] = error_lines(stderr)
    assert line.startswith(f"error: interrupted by {received.name}; epoch ")
    assert line.endswith(
        f"is saved; to continue, run the same command with hydra.run.dir={run_dir} trainer.resume=true"
    )
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and record["signal"] == received.name


@pytest.mark.slow
def test_a_signal_stops_the_run_in_one_line_and_the_run_resumes(tmp_path, data_dir):
    # One run for both signals: Ctrl-C stops it, the command its line names continues it,
    # SIGTERM stops that one after its next checkpoint, and the same command finishes it.
    run_dir = tmp_path / "run"
    interrupt_after_a_checkpoint(run_dir, train_command(run_dir, data_dir), signal.SIGINT, 130)
    resume = train_command(run_dir, data_dir, "trainer.resume=true")
    interrupt_after_a_checkpoint(run_dir, resume, signal.SIGTERM, 143)
    resumed = forked.run(resume, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"


@pytest.mark.slow
@pytest.mark.parametrize(
    "size", ["64k", "300k"], ids=["full in a checkpoint", "full in the final save"]
)
def test_a_full_disk_ends_in_one_line_keeps_every_checkpoint_whole_and_resumes(
    tmpfs, tmp_path, data_dir, size
):
    mount = tmpfs(size)
    run_dir = mount / "run"
    command = [sys.executable, str(ROOT / "train.py"), *TINY, "trainer.epochs=2", f"data_dir={data_dir}",
               f"hydra.run.dir={run_dir}"]  # fmt: skip
    result = forked.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr) == [
        f"error: no space left on the device in {run_dir}{'/checkpoints' if size == '64k' else ''}; "
        "free some space and run the command again (a training run continues from its last "
        "checkpoint with trainer.resume=true)"
    ]
    assert leftovers(run_dir) == [] and not (run_dir / "metrics.json").exists()
    subprocess.run(["mount", "-o", "remount,size=4m", str(mount)], check=True)
    resumed = forked.run(
        [*command, "trainer.resume=true"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (run_dir / "metrics.json").exists() and leftovers(run_dir) == []
    assert not [p for p in os.listdir("/dev/shm") if p.startswith(".tmp-stage-")]


def test_a_read_only_run_directory_is_refused_in_one_line(tmpfs, tmp_path):
    mount = tmpfs("1m")
    (mount / "run").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), f"hydra.run.dir={mount}/run"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: hydra.run.dir='{mount}/run': cannot be written (Read-only file system); "
        "allowed: a writable directory"
    ]


@pytest.mark.parametrize("key", ["hydra.run.dir", "data_dir"])
def test_an_empty_path_is_refused_and_nothing_is_written_to_the_working_directory(key, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    args = [f"{key}="] + ([f"hydra.run.dir={tmp_path}/run"] if key == "data_dir" else [])
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=work,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: {key}='': must be a path; an empty one would mean the working directory"
    ]
    assert list(work.iterdir()) == []
