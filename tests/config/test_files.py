"""One way to write a file safely: a kill or an error at any point leaves the old file or
the whole new one, and no temporary once the next run has started."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from seq2seq.base import files
from seq2seq.base.files import atomic_write, atomic_write_text, remove_temporaries

OLD, NEW = "old " * 100_000, "new " * 100_000


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(files.TEMPORARY_PREFIX))


def test_a_whole_write_replaces_the_file(tmp_path):
    path = tmp_path / "record.json"
    atomic_write_text(path, OLD)
    atomic_write_text(path, NEW)
    assert path.read_text() == NEW
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("stage", ["while writing", "flushing", "renaming", "interrupted"])
def test_a_failure_at_any_stage_keeps_the_old_file_and_no_temporary(stage, tmp_path, monkeypatch):
    path = tmp_path / "record.json"
    atomic_write_text(path, OLD)

    def fail(*args, **kwargs):
        raise (
            KeyboardInterrupt if stage == "interrupted" else OSError(28, "No space left on device")
        )

    if stage == "flushing":
        monkeypatch.setattr(files.os, "fsync", fail)
    if stage == "renaming":
        monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises((OSError, KeyboardInterrupt)):
        with atomic_write(path) as temporary:
            temporary.write_text(NEW[: len(NEW) // 2])
            if stage in ("while writing", "interrupted"):
                fail()
    assert path.read_text() == OLD
    assert leftovers(tmp_path) == []


def test_a_directory_is_written_whole_or_not_at_all(tmp_path):
    target = tmp_path / "saved_model"
    with pytest.raises(OSError):
        with atomic_write(target) as temporary:
            temporary.mkdir()
            (temporary / "a").write_text("half")
            raise OSError(28, "No space left on device")
    assert not target.exists() and leftovers(tmp_path) == []
    for version in ("one", "two"):
        with atomic_write(target) as temporary:
            temporary.mkdir()
            (temporary / "a").write_text(version)
    assert (target / "a").read_text() == "two" and leftovers(tmp_path) == []


WRITER = """
import sys
from seq2seq.base.files import atomic_write_text
path, old, new = sys.argv[1], "old " * 100_000, "new " * 100_000
print("ready", flush=True)
while True:
    atomic_write_text(path, new)
    atomic_write_text(path, old)
"""


def test_a_kill_at_any_moment_leaves_old_or_new_and_the_next_start_cleans_up(tmp_path):
    path = tmp_path / "record.json"
    atomic_write_text(path, OLD)
    rng = random.Random(0)
    for _ in range(12):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert path.read_text() in (OLD, NEW)
        remove_temporaries(tmp_path)  # as a run does when it starts or resumes
        assert leftovers(tmp_path) == []
