"""Writing a file safely: a reader finds the old file or the whole new one, never half;
and a path shown as users type it (`display_path`).

Every file of a run that must survive a kill or a full disk goes through `atomic_write`:
run records, checkpoints, the dataset cache, rewritten TensorBoard event files, the
final model and its export. The new content goes to a hidden temporary beside the
target, is flushed to disk (fsync), and is renamed over the target, which the operating
system does atomically; the directory is flushed too, so that the rename itself
survives a power cut. An error or an interrupt removes the temporary at once; a kill
cannot, so what a killed write leaves is named `.tmp-*` and `remove_temporaries` (run
when a run starts or resumes) deletes it.

Writers that crash when the disk fills (HDF5, behind Keras' `.weights.h5`, ended the
process with a segmentation fault when it hit ENOSPC mid-file) write to memory first
(`staged=True`): the finished file is then copied with plain writes, which fail with a
clean `OSError`.

It lives in `base/`, which imports no TensorFlow, so that code that runs before
TensorFlow loads (the run directory, sweeps) writes files the same way.
"""

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PathLike = str | os.PathLike
#: The name prefix of every temporary: hidden, and known to `remove_temporaries`.
TEMPORARY_PREFIX = ".tmp-"


def _fsync_path(path: Path) -> None:
    """Flushes a file, or every file and folder of a directory tree, to disk."""
    if path.is_dir():
        for child in path.rglob("*"):
            if child.is_file():
                _fsync_path(child)
        _fsync_directory(path)
        return
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_directory(path: Path) -> None:
    """Flushes a directory's entries (a rename into it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


#: A filesystem in memory, where staged writes go (see `atomic_write`), if this system has one.
MEMORY_DIR = Path("/dev/shm")
#: Staging directories are named with their process id, so that those of dead
#: processes can be told apart and removed.
STAGE_PREFIX = f"{TEMPORARY_PREFIX}stage-"


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


@contextlib.contextmanager
def _staged(temporary: Path, suffix: str) -> Iterator[Path]:
    """Yields a path in memory; its content is then copied to `temporary` (plain writes)."""
    if not (MEMORY_DIR.is_dir() and os.access(MEMORY_DIR, os.W_OK)):
        yield temporary  # no memory filesystem: write in place
        return
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=MEMORY_DIR))
    try:
        yield stage / f"staged{suffix}"
        try:
            _copy(stage / f"staged{suffix}", temporary)
        except OSError as error:  # name the file that could not be written, not the stage
            raise OSError(error.errno, error.strerror, str(temporary)) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def atomic_write(path: PathLike, suffix: str = "", staged: bool = False) -> Iterator[Path]:
    """Yields a temporary path to write to; on success it replaces `path` atomically.

    Write the whole content to the yielded path (a file, or a directory such as a
    SavedModel) inside the `with` block. When the block ends normally the content is
    flushed to disk and renamed over `path`; if it raises, or the process is
    interrupted, the temporary is removed and `path` is left as it was.

    Args:
        path: the file (or directory) to write.
        suffix: the ending the temporary's name must keep, for writers that check it
            (`.weights.h5` for Keras weights, `.keras`, `.npz`).
        staged: write to memory first, for writers that crash on a full disk.

    Yields:
        The temporary path, in the same directory as `path`, not yet existing.

    Raises:
        OSError: whatever writing raised (a full disk: ENOSPC), after cleaning up.
    """
    path = Path(path)
    temporary = path.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}{suffix}"
    try:
        if staged:
            with _staged(temporary, suffix) as in_memory:
                yield in_memory
        else:
            yield temporary
        _fsync_path(temporary)
        if temporary.is_dir() and path.is_dir():
            # A directory cannot be renamed over a non-empty one: move the old one aside
            # (a kill in between leaves it as a temporary, and `path` missing).
            aside = path.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}"
            os.replace(path, aside)
            os.replace(temporary, path)
            _remove(aside)
        else:
            os.replace(temporary, path)
        _fsync_directory(path.parent)
    except OSError as error:
        _remove(temporary)
        if error.filename is None:  # a writer that does not say which file failed
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
    except BaseException:
        _remove(temporary)
        raise


def atomic_write_text(path: PathLike, text: str) -> None:
    """Writes `text` (UTF-8) to `path` atomically (see `atomic_write`)."""
    with atomic_write(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _dead_stages() -> list:
    """Staging directories in memory whose process is gone (killed mid-write)."""
    if not MEMORY_DIR.is_dir():
        return []
    found = []
    for path in MEMORY_DIR.glob(f"{STAGE_PREFIX}*"):
        pid = path.name[len(STAGE_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _is_alive(int(pid)):
            found.append(path)
    return found


def file_sha256(path: PathLike) -> str:
    """The SHA-256 of a file's bytes, read in blocks (files of any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove_temporaries(directory: PathLike) -> int:
    """Deletes what killed writes left under `directory` (recursively), and the staging
    directories in memory of processes that are gone.

    Returns:
        How many temporaries were removed.
    """
    directory = Path(directory)
    found = list(directory.rglob(f"{TEMPORARY_PREFIX}*")) if directory.is_dir() else []
    found += _dead_stages()
    for path in sorted(found, key=lambda p: len(p.parts), reverse=True):
        _remove(path)
    return len(found)


def display_path(path: Path) -> str:
    """`path` relative to the working directory when inside it, as users type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
