"""One run per directory: an exclusive lock held for the whole run.

`fcntl.flock` on `RUN_DIR/.lock`: the operating system releases it when the process
ends, however it ends, so a crashed or killed run leaves no stale lock behind; the file
itself stays, holding the last owner's process id for the message a second process
prints. A lock file that outlives its owner is harmless: only the flock counts.
"""

import contextlib
import fcntl
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from seq2seq.base.errors import UserError
from seq2seq.base.files import _is_alive  # the package's one test of a process id
from seq2seq.base.names import LOCK_FILE


@contextlib.contextmanager
def run_lock(run_dir: Path, key: str = "hydra.run.dir") -> Iterator[Callable[[], None]]:
    """Holds the run directory's lock while the `with` block runs.

    Yields:
        `claim()`, which records this process as the lock's owner: call it once the
        run is accepted, so that a refused process changes nothing in the directory.

    Raises:
        UserError: if another process holds it, naming that process.
    """
    path = Path(run_dir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise UserError(
                f"{key}={str(run_dir)!r} is in use by another train.py process (pid {owner}); "
                "wait for it to end, or choose another directory"
            ) from None

        def claim() -> None:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

        yield claim
    finally:
        os.close(fd)  # closing the descriptor releases the lock


#: Linux's table of the locks every process holds, which `lock_is_held` reads.
PROC_LOCKS = Path("/proc/locks")
#: A lock's file in that table: its device's major and minor numbers (hex) and its inode.
_LOCKED_FILE = re.compile(r"([0-9a-f]+):([0-9a-f]+):(\d+)")


def _owner(path: Path) -> int | None:
    """The process id the lock file names (its last owner's), or None."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def lock_is_held(run_dir: Path) -> bool:
    """Whether a process holds the run directory's lock now: a command is running there.

    The lock is never taken to find out: holding it even for an instant would refuse a run
    that starts at that instant. Linux lists every flock in `/proc/locks`, by the file's
    device and inode; a container's overlay filesystem shows another device there than
    `stat` does, so an entry on the same inode counts when its device matches or its
    process is the one the lock file names. Without `/proc/locks` (macOS), the process
    the lock file names is looked for, which a reused process id can fool.

    Args:
        run_dir: the run directory.

    Returns:
        True while a process holds the lock; False when none does, or there is no lock file.
    """
    path = Path(run_dir) / LOCK_FILE
    try:
        stat = path.stat()
    except OSError:
        return False
    owner = _owner(path)
    try:
        table = PROC_LOCKS.read_text()
    except OSError:
        return owner is not None and _is_alive(owner)
    device = (os.major(stat.st_dev), os.minor(stat.st_dev))
    for line in table.splitlines():
        fields = line.split()
        if "FLOCK" not in fields or "->" in fields:  # "->": a process waiting for the lock
            continue
        for i, text in enumerate(fields):
            found = _LOCKED_FILE.fullmatch(text)
            if found is None or int(found[3]) != stat.st_ino:
                continue
            if (int(found[1], 16), int(found[2], 16)) == device or fields[i - 1] == str(owner):
                return True
    return False
