"""One run per directory: an exclusive lock held for the whole run.

`fcntl.flock` on `RUN_DIR/.lock`: the operating system releases it when the process
ends, however it ends, so a crashed or killed run leaves no stale lock behind; the file
itself stays, holding the last owner's process id for the message a second process
prints. A lock file that outlives its owner is harmless: only the flock counts.
"""

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from seq2seq_config.cli.errors import UserError
from seq2seq_config.run.names import LOCK_FILE


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
