"""One run per directory: a second process is refused while the first runs, a crashed
run leaves no stale lock, and a refused process changes nothing."""

import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, TINY, error_lines, run_script
from seq2seq import UserError, compose_config
from seq2seq.run.run_dir import open_run

HOLDER = """
import sys, time
from pathlib import Path
from seq2seq import compose_config
from seq2seq.run.run_dir import open_run
cfg = compose_config(sys.argv[2:])
with open_run(cfg, Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def held_run_dir(tmp_path, data_dir):
    """A run directory that another process holds, as a running train.py does."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir), *TINY, f"data_dir={data_dir}"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "holding"
    yield run_dir, holder
    holder.kill()
    holder.wait()


@pytest.mark.parametrize("resume", [False, True], ids=["new run", "resume"])
def test_a_second_process_is_refused_in_one_line_while_the_first_runs(
    held_run_dir, data_dir, resume
):
    run_dir, holder = held_run_dir
    before = sorted(p.name for p in run_dir.iterdir())
    args = [
        *TINY,
        f"data_dir={data_dir}",
        f"hydra.run.dir={run_dir}",
        f"trainer.resume={str(resume).lower()}",
    ]
    result = run_script("train.py", *args, timeout=60)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: hydra.run.dir='{run_dir}' is in use by another train.py process (pid "
        f"{holder.pid}); wait for it to end, or choose another directory"
    ]
    assert sorted(p.name for p in run_dir.iterdir() if p.name != "train.log") == before


def test_a_killed_run_leaves_no_stale_lock(held_run_dir, data_dir):
    run_dir, holder = held_run_dir
    cfg = compose_config([*TINY, f"data_dir={data_dir}"])
    with pytest.raises(UserError, match="is in use by another train.py process"):
        with open_run(cfg, run_dir):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with open_run(cfg, run_dir) as opened:  # the operating system released the lock
        assert opened.path == run_dir and not opened.resuming
    assert (run_dir / ".lock").read_text().strip() == str(os.getpid())
