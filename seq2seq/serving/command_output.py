"""What the decoding commands (`predict`, `score`) write: their output file, atomically, and
their summary lines on stderr, written once for both."""

import errno
import sys

from seq2seq.base.errors import UserError
from seq2seq.base.files import atomic_write_text


def write_output_file(path: str, text: str) -> None:
    """Writes a command's outputs to `output_file` atomically.

    Args:
        path: the `output_file` as the user wrote it.
        text: everything to write.

    Raises:
        UserError: naming the user's path (not the temporary) when it cannot be written.
        OSError: a full disk, which the runner reports naming the directory.
    """
    try:
        atomic_write_text(path, text)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise  # reported as a full disk, naming the directory
        raise UserError(
            f"output_file={path!r}: cannot be written ({error.strerror or error}); allowed: a "
            "file in a writable directory"
        ) from None


def write_outputs(output_file: str | None, text: str) -> None:
    """A command's outputs to stdout, or to `output_file` (`write_output_file`) when set."""
    if output_file is None:
        sys.stdout.write(text)
    else:
        write_output_file(output_file, text)


def print_summary(lines: list[str]) -> None:
    """Writes a command's summary (what the caller should know of the outputs) on stderr."""
    for line in lines:
        print(line, file=sys.stderr)
