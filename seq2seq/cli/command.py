"""One way into every command that loads a finished run (`evaluate`, `predict`, `score`):
`--version` and `--help` answered at once, SIGTERM taken as Ctrl-C, the config composed
and checked against the run directory and its files, and only then TensorFlow (whose
start-up lines `quiet.py` keeps off the terminal of a command's process).

The shape of lightning-hydra-template's `task_wrapper`: the command's module holds what
it does once its config is known good (`work`); the preamble, the errors and the order
are here, written once.
"""

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from omegaconf import MISSING, DictConfig

from seq2seq.base.version import exit_if_version
from seq2seq.cli.imports import import_work
from seq2seq.cli.runner import exit_on_user_error, stop_on_sigterm
from seq2seq.config.compose import compose_config
from seq2seq.config.constraints import HELP
from seq2seq.config.schema_walk import groups


@dataclasses.dataclass(frozen=True)
class Command:
    """A command that composes a config and checks it before any work.

    Attributes:
        name: the console script, e.g. `seq2seq-evaluate`.
        module: the `python -m` form, e.g. `seq2seq.evaluate`.
        config_name: the Hydra config it composes (`configs/NAME.yaml`).
        schema: the config's dataclass, whose keys `--help` lists.
        example: the arguments of a typical call, for the usage line.
        about: what the command does, in a sentence or two.
        check: validates the composed config (TensorFlow-free); what it returns is
            given to the work.
        work: the module whose `work(cfg, checked)` does the command once the config is
            known good; imported then, with TensorFlow.
    """

    name: str
    module: str
    config_name: str
    schema: type
    example: str
    about: str
    check: Callable[[DictConfig], Any]
    work: str


def help_text(command: Command) -> str:
    """What `--help` prints: usage, what the command does, and every key with its default
    and meaning, from the schema's own help texts."""
    lines = [
        f"usage: {command.name} {command.example} [key=value ...]",
        f"   or: python -m {command.module} {command.example} [key=value ...]",
        "",
        command.about,
        "",
        "keys (key=default  meaning; the values each allows: docs/configuration.md):",
    ]
    for prefix, leaves in groups(command.schema):
        for field in leaves:
            lines.append(f"  {prefix}{field.name}={_default(field)}")
            lines.append(f"      {field.metadata.get(HELP, '')}")
    lines += ["", "  --version  prints the version", "  --help     prints this"]
    return "\n".join(lines)


def _default(field: dataclasses.Field) -> str:
    """A field's default as a user types it on the command line."""
    if field.default is MISSING:
        return "(required)"
    value = (
        field.default_factory()
        if field.default_factory is not dataclasses.MISSING
        else field.default
    )
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value).replace("'", "")


def exit_if_help(argv: list[str], command: Command) -> None:
    """Prints `help_text` and exits with status 0 if the arguments ask for help.

    Raises:
        SystemExit: with status 0, after printing the help.
    """
    if "--help" in argv or "-h" in argv:
        print(help_text(command))
        raise SystemExit(0)


def run_command(command: Command, argv=None) -> int:
    """Runs a command: answers `--version` / `--help`, composes and checks its config, then
    imports `command.work` (and TensorFlow with it, the collector paused: `imports.py`) and
    does the work.

    Args:
        command: what the command is.
        argv: the arguments (default: the process's, without the program).

    Returns:
        0; errors exit through `exit_on_user_error` with their one line.

    Raises:
        SystemExit: for `--version`, `--help`, and a user's error (non-zero).
    """
    argv = sys.argv[1:] if argv is None else argv
    exit_if_version(argv)
    exit_if_help(argv, command)
    stop_on_sigterm()
    with exit_on_user_error():
        cfg = compose_config(argv, config_name=command.config_name)
        checked = command.check(cfg)
        import_work(command.work).work(cfg, checked)
    return 0
