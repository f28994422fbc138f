"""One-line errors for bad input, and the command-line wrapper that prints them.

A mistake in a config or an argument should cost seconds: one line that names the key,
the value received and what is allowed, a non-zero exit status, and no traceback.
Errors that are not the user's (bugs) keep their traceback.
"""

import argparse
import contextlib
import dataclasses
import os
import sys
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

from hydra.errors import (
    ConfigCompositionException,
    HydraException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

#: Exit status for bad input, as argparse uses.
USAGE_EXIT_STATUS = 2


class UserError(Exception):
    """A problem with what the user gave (config, file, argument), not a bug.

    The command-line tools print its message as one line and exit with `exit_status`.
    """

    exit_status = USAGE_EXIT_STATUS


class RunError(Exception):
    """A run that cannot go on (a non-finite loss): one line, exit status 1, no traceback."""

    exit_status = 1


class ConfigError(UserError, ValueError):
    """A config value that is not allowed.

    Args:
        key: the dotted key, e.g. `model.units`.
        value: the value received.
        allowed: what would be accepted, e.g. "an integer >= 1".
    """

    def __init__(self, key: str, value: Any, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        if value == "???":  # OmegaConf's mark of a value nobody gave
            super().__init__(f"{key}: {allowed}")
        else:
            super().__init__(f"{key}={format_value(value)}: {allowed}")


def format_value(value: Any) -> str:
    """A value as a user would type it on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _type_name(annotation: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if annotation in names:
        return names[annotation]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    # `Optional[int]` and `int | None` spell the same thing in two ways.
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return f"{_type_name(args[0])} or null"
    return str(annotation)


def _first_line(text: str) -> str:
    """The message's first line, with the next one when the first ends in a colon."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    if not lines:
        return type(text).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def _from_omegaconf(error: OmegaConfBaseException) -> str:
    key = error.full_key or error.key
    schema = error.object_type if dataclasses.is_dataclass(error.object_type) else None
    fields = {f.name: f for f in dataclasses.fields(schema)} if schema else {}
    if isinstance(error, (ConfigAttributeError, ConfigKeyError)) and fields:
        allowed = ", ".join(fields)
        return f"{key}: no such key; allowed keys here: {allowed}"
    if isinstance(error, ValidationError) and error.key in fields:
        expected = _type_name(fields[error.key].type)
        return f"{key}={format_value(error.value)}: expected {expected}"
    return f"{key}: {_first_line(error.msg)}" if key else _first_line(error.msg)


def describe(error: BaseException) -> str | None:
    """The one-line message for an error caused by the user's input.

    Returns:
        The message, or None if the error is not the user's (a bug), which should keep
        its traceback.
    """
    if isinstance(error, (UserError, RunError)):
        return str(error)
    if isinstance(error, OverrideParseException):
        return f"cannot parse override {error.override!r}: {_first_line(error.message)}"
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, name = error.missing_cfg_file.rpartition("/")
        if error.options is not None:
            return f"{group}={name!r}: no such option; allowed: {', '.join(error.options)}"
        return f"{error.missing_cfg_file}: no such config"
    if isinstance(error, ConfigCompositionException) and isinstance(
        error.__cause__, OmegaConfBaseException
    ):
        return _from_omegaconf(error.__cause__)
    if isinstance(error, OmegaConfBaseException):
        return _from_omegaconf(error)
    if isinstance(error, HydraException):
        return _first_line(str(error))
    if isinstance(error, OSError) and error.filename:
        # A file or directory the command was given cannot be used (Hydra creating
        # the run directory, say).
        return f"{error.filename}: {error.strerror or error}"
    return None


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turns an error caused by the user's input into one line on stderr and an exit.

    Errors that are not the user's propagate unchanged, with their traceback.

    Raises:
        SystemExit: with a non-zero status, after printing `error: <message>`.
    """
    try:
        yield
    except Exception as error:  # noqa: BLE001 - anything not the user's is re-raised
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
    with exit_on_user_error():
        return main()


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, `error: ...`, with exit status 2.

    argparse prints the usage line first; the message alone says what was wrong and
    `--help` the rest.
    """

    def error(self, message: str) -> typing.NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(USAGE_EXIT_STATUS)
