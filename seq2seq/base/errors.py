"""One-line errors for bad input: the error types and `describe`, which turns one into a line.

A mistake in a config or an argument should cost seconds: one line that names the key,
the value received and what is allowed, a non-zero exit status, and no traceback.
Errors that are not the user's (bugs) keep their traceback. The command-line runner that
prints them is `seq2seq.cli.runner`.
"""

import dataclasses
import errno
import re
import signal
import types
import typing
from pathlib import Path
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

from seq2seq.base.error_hints import config_file_problem, override_hint

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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt (see `stop_on_sigterm`)."""

    signum = signal.SIGTERM


class Interrupted(RunError):
    """A run stopped by SIGINT (Ctrl-C) or SIGTERM: one line; exit status 128 + the signal's
    number, as a shell reports a process the signal ended.

    Args:
        message: what was interrupted and how to continue.
        signum: the signal.
    """

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_status = 128 + int(signum)


def signal_of(interrupt: KeyboardInterrupt) -> signal.Signals:
    """The signal behind a KeyboardInterrupt: SIGTERM for `Terminated`, else SIGINT."""
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT))


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
    # A resolver's own error (an unknown `${sample:NAME}`) comes wrapped in OmegaConf's
    # "UserError raised while resolving interpolation: ": the resolver's line says it all.
    message = re.sub(r"^\w+ raised while resolving interpolation: ", "", _first_line(error.msg))
    return f"{key}: {message}" if key else message


def _no_space(error: BaseException) -> str | None:
    """The one-line message for a full disk, whichever library met it, or None.

    Python's own writes raise OSError(ENOSPC); TensorFlow raises its
    ResourceExhaustedError and HDF5 a RuntimeError, each saying so in its message.
    """
    text = str(error)
    if getattr(error, "errno", None) != errno.ENOSPC and "No space left on device" not in text:
        return None
    path = (
        getattr(error, "filename", None)
        or text.split(";")[0].split("filename = '")[-1].split("'")[0]
    )
    # The temporaries of atomic writes mean nothing to a user; their directory does.
    parts = Path(str(path)).parts
    temporary = [i for i, part in enumerate(parts) if part.startswith(".tmp-")]
    directory = Path(*parts[: temporary[0]]) if temporary else Path(str(path)).parent
    where = f" in {directory}" if len(parts) > 1 else ""
    return (
        f"no space left on the device{where}; free some space and run the command again "
        "(a training run continues from its last checkpoint with trainer.resume=true)"
    )


def describe(error: BaseException) -> str | None:
    """The one-line message for an error caused by the user's input.

    Returns:
        The message, or None if the error is not the user's (a bug), which should keep
        its traceback.
    """
    if isinstance(error, (UserError, RunError)):
        return str(error)
    no_space = _no_space(error)
    if no_space is not None:
        return no_space
    if isinstance(error, OverrideParseException):
        return f"cannot parse override {error.override!r}: {override_hint(error.override, error.message)}"
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, name = error.missing_cfg_file.rpartition("/")
        if error.options is not None:
            return f"{group}={name!r}: no such option; allowed: {', '.join(error.options)}"
        return f"{error.missing_cfg_file}: no such config"
    config_file = config_file_problem(error)
    if config_file is not None:
        return config_file
    if isinstance(error, ConfigCompositionException) and isinstance(
        error.__cause__, OmegaConfBaseException
    ):
        return _from_omegaconf(error.__cause__)
    if isinstance(error, OmegaConfBaseException):
        return _from_omegaconf(error)
    if isinstance(error, HydraException):
        return _first_line(str(error))
    if isinstance(error.__cause__, OSError) and error.__cause__.filename:
        # Python's logging wraps a log file it cannot open ("Unable to configure handler").
        return describe(error.__cause__)
    if isinstance(error, OSError) and error.filename:
        # A file or directory the command was given cannot be used (Hydra creating
        # the run directory, say).
        return f"{error.filename}: {error.strerror or error}"
    return None
