"""The command-line runner every command goes through: the one-line report of a user's
error (`exit_on_user_error`), the Hydra entry point's wrapper (`run_cli`), SIGTERM taken
as Ctrl-C, and argparse's errors in one line. The errors, and the line each prints, are
in `seq2seq.base.errors`.
"""

import argparse
import contextlib
import os
import signal
import sys
import typing
from collections.abc import Callable, Iterator
from typing import Any

from seq2seq.base.error_hints import interrupt_inside
from seq2seq.base.errors import (
    USAGE_EXIT_STATUS,
    ConfigError,
    Terminated,
    describe,
    signal_of,
)
from seq2seq.config.renamed import renamed_overrides


def stop_on_sigterm() -> None:
    """Makes SIGTERM stop the process the way Ctrl-C does: an exception in the main thread,
    so that the run records where it stopped and says how to resume, instead of dying
    silently."""

    def raise_terminated(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, raise_terminated)


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turns an error caused by the user's input into one line on stderr and an exit.

    Errors that are not the user's propagate unchanged, with their traceback. Ctrl-C
    or SIGTERM before a run could record it ends in one line too.

    Raises:
        SystemExit: with a non-zero status, after printing `error: <message>`.
    """
    try:
        yield
    except KeyboardInterrupt as interrupt:  # stopped before a run could record it
        received = signal_of(interrupt)
        print(f"error: interrupted ({received.name})", file=sys.stderr)
        raise SystemExit(128 + int(received)) from None
    except Exception as error:  # noqa: BLE001 - anything not the user's is re-raised
        received = interrupt_inside(error)  # Ctrl-C inside a tf.data generator
        if received is not None:
            print(f"error: interrupted ({received.name})", file=sys.stderr)
            raise SystemExit(128 + int(received)) from None
        message = describe(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(getattr(error, "exit_status", USAGE_EXIT_STATUS)) from None


def run_cli(main: Callable[[], Any]) -> Any:
    """Runs a Hydra entry point so that composition errors are reported in one line.

    Hydra prints composition errors over several lines; with HYDRA_FULL_ERROR set it
    raises them instead, and they are reported here. Errors inside the job itself are
    the task function's to report (with `exit_on_user_error`): Hydra adds a line of its
    own to any exception that leaves a job.

    Args:
        main: the entry point, a `hydra.main`-decorated function.

    Returns:
        What `main` returns.
    """
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    stop_on_sigterm()
    with exit_on_user_error():
        sys.argv[1:] = renamed_overrides(sys.argv[1:])
        check_output_dirs(sys.argv[1:])
        return main()


#: Hydra's directory keys, which Hydra itself creates and writes before any job runs.
HYDRA_DIRS = ("hydra.run.dir", "hydra.sweep.dir")


def check_output_dirs(argv: list) -> None:
    """Refuses an empty run or sweep directory on the command line, before Hydra uses it:
    Hydra would take it as the working directory and write a whole run there.

    Raises:
        ConfigError: naming the key.
    """
    for arg in argv:
        key, equals, value = arg.partition("=")
        if equals and key.lstrip("+~") in HYDRA_DIRS and not value.strip().strip("'\""):
            raise ConfigError(
                key.lstrip("+~"),
                value,
                "must be a path; an empty one would mean the working directory",
            )


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, `error: ...`, with exit status 2.

    argparse prints the usage line first; the message alone says what was wrong and
    `--help` the rest.
    """

    def error(self, message: str) -> typing.NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(USAGE_EXIT_STATUS)
