"""`seq2seq-runs [DIR ...]` (`python -m seq2seq.cli.runs`): every run under the
directories (by default `outputs/` and `multirun/`, those that exist) in one table, read
from the run directories alone: status, when, figures, epochs, training time, parent,
averaged epochs, ensembles, overrides (`seq2seq.run.listing` reads them).

    seq2seq-runs --where task.name=tsv --sort val/token_error_rate --format csv

`--where KEY=VALUE` (repeatable; every one must hold) keeps the runs whose KEY has that
value: a column (`status=finished`, `parent=runs/dates`), a figure (`val/exact_match=1.0`),
a key of the run's resolved config (`model.units=256`), or else a choice on its command
line (`experiment=cmudict`, from its overrides). VALUE is read as YAML, as Hydra reads an
override, so that `256`, `true` and `null` match those values, and a path or a name matches
as text. `--sort` orders by a figure, best first (`val/loss` lowest, `val/exact_match`
highest), or by a column, and `--reverse` turns it round; runs without the value go last
either way. No TensorFlow, no server: JSON and YAML files read.
"""

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from seq2seq.base.errors import ConfigError, UserError
from seq2seq.base.files import display_path
from seq2seq.base.version import exit_if_version
from seq2seq.cli.runner import OneLineArgumentParser, exit_on_user_error
from seq2seq.cli.runs_format import (
    MORE_METRICS,
    SPLITS,
    as_csv,
    as_json,
    as_text,
    record,
)
from seq2seq.config.renamed import RENAMED
from seq2seq.config.watch_schema import METRICS
from seq2seq.run.listing import ListedRun, read_runs

#: Where runs are looked for when no directory is named: where training writes them.
DEFAULT_DIRS = ("outputs", "multirun")
FORMATS = ("text", "csv", "json")
#: Which way is better, for each figure `--sort` takes: best first.
DIRECTIONS = {**METRICS, **MORE_METRICS}
#: The columns `--sort` (smallest first) and `--where` take besides the figures.
COLUMNS = ("run", "status", "when", "epochs", "kept_epoch", "train_seconds", "parent")
#: `--where` also takes these list columns (a run matches when it holds the value).
LIST_COLUMNS = ("averaged_epochs", "ensemble", "overrides")
_MISSING = object()


def parser() -> argparse.ArgumentParser:
    """The command's arguments (`--help` describes each)."""
    command = OneLineArgumentParser(
        prog="seq2seq-runs",
        description="Every run under the directories in one table, read from their files.",
    )
    command.add_argument(
        "dirs",
        nargs="*",
        metavar="DIR",
        help=f"directories to search for runs, at any depth (default: {' and '.join(DEFAULT_DIRS)})",
    )
    command.add_argument(
        "--sort",
        metavar="KEY",
        help="a figure, best first (val/exact_match, test/loss, ...), or a column: "
        + ", ".join(COLUMNS),
    )
    command.add_argument("--reverse", action="store_true", help="the other way round")
    command.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep the runs whose KEY has VALUE: a column (status=finished), a figure, a config "
        "key (model.units=256) or a command-line choice (experiment=cmudict); repeatable",
    )
    command.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    command.add_argument("--version", action="store_true", help="print the version and exit")
    return command


def sort_key(text: str) -> tuple[str, bool]:
    """What `--sort TEXT` sorts by.

    Args:
        text: `SPLIT/METRIC` (`val/exact_match`) or a column (`when`).

    Returns:
        (the key, whether larger values come first): a figure best first, a column
        smallest first.

    Raises:
        ConfigError: naming the value and what is allowed.
    """
    split, slash, metric = text.partition("/")
    if slash and split in SPLITS and metric in DIRECTIONS:
        return text, DIRECTIONS[metric] == "max"
    if not slash and text in COLUMNS:
        return text, False
    raise ConfigError(
        "--sort",
        text,
        f"allowed: SPLIT/METRIC with SPLIT {' or '.join(SPLITS)} and METRIC one of "
        f"{', '.join(DIRECTIONS)}; or a column: {', '.join(COLUMNS)}",
    )


def condition(text: str) -> tuple[str, str]:
    """The (key, value) of `--where KEY=VALUE`.

    Raises:
        ConfigError: for text without `=` or without a key.
    """
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise ConfigError(
            "--where",
            text,
            "allowed: KEY=VALUE, KEY a column (status), a figure (val/exact_match), "
            "a config key (model.units) or a command-line choice (experiment)",
        )
    return key.strip(), value


def value_of(run: ListedRun, key: str) -> Any:
    """A run's value for a `--where` or `--sort` key, or `_MISSING` when it has none.

    A column, a figure, a resolved config key, or the value of its command line's
    `KEY=VALUE` override (config groups such as `experiment` are choices there, not keys).
    A key's old name (`seq2seq.config.renamed`) reads as its new one.
    """
    key = RENAMED.get(key, key)
    row = record(run)
    if key in COLUMNS or key in LIST_COLUMNS:
        found = run.when if key == "when" else row[key]
        return _MISSING if found is None else found
    split, slash, metric = key.partition("/")
    if slash and split in SPLITS:
        return run.metrics.get(split, {}).get(metric, _MISSING)
    node: Any = run.config
    for part in key.split("."):
        node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
    if node is not _MISSING and not isinstance(node, dict):
        return node
    chosen = [o.split("=", 1)[1] for o in run.overrides if o.lstrip("+~").split("=")[0] == key]
    return chosen[-1] if chosen else _MISSING


def _same(actual: Any, wanted: str) -> bool:
    try:
        parsed = yaml.safe_load(wanted)
    except yaml.YAMLError:
        parsed = wanted
    if isinstance(actual, list):
        return any(_same(item, wanted) for item in actual)
    # True == 1 in Python: a flag matches true or false, a number a number.
    if isinstance(actual, bool) != isinstance(parsed, bool):
        return str(actual) == wanted
    return actual == parsed or str(actual) == wanted


def select(runs: list[ListedRun], conditions: list[tuple[str, str]]) -> list[ListedRun]:
    """The runs where every (key, value) holds (`value_of`, the value read as YAML).

    Raises:
        UserError: for a key that no run has, most likely mistyped.
    """
    for key, wanted in conditions:
        values = [value_of(run, key) for run in runs]
        if runs and all(value is _MISSING for value in values):
            raise UserError(
                f"--where {key}={wanted}: no listed run has {key}; KEY is a column "
                f"({', '.join(COLUMNS + LIST_COLUMNS)}), a figure (val/exact_match), a key "
                "of the runs' config (model.units) or a command-line choice (experiment)"
            )
        runs = [r for r, v in zip(runs, values) if v is not _MISSING and _same(v, wanted)]
    return runs


def _sortable(value: Any, numbers: bool) -> bool:
    if numbers:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, str)


def ordered(runs: list[ListedRun], key: str, descending: bool) -> list[ListedRun]:
    """The runs sorted by `key`, `descending` or not; those without a value (or with one
    of another kind than the others', or not finite) last, in their listed order."""
    values = [value_of(run, key) for run in runs]
    numbers = all(isinstance(v, int | float) for v in values if v is not _MISSING)
    sortable = [i for i, value in enumerate(values) if _sortable(value, numbers)]
    # Python's sort is stable both ways: runs of equal value keep their listed order.
    sortable.sort(key=lambda i: values[i], reverse=descending)
    rest = sorted(set(range(len(runs))) - set(sortable))
    return [runs[i] for i in sortable + rest]


def directories(named: list[str]) -> list[Path]:
    """The directories to search: those named, or the defaults that exist.

    Raises:
        UserError: for a named one that does not exist or is not a directory.
    """
    for name in named:
        if not Path(name).is_dir():
            what = "is not a directory" if Path(name).exists() else "no such directory"
            raise UserError(
                f"{name}: {what}; allowed: directories that hold runs, at any depth "
                f"(default: {' and '.join(DEFAULT_DIRS)})"
            )
    return [Path(name) for name in named or DEFAULT_DIRS if Path(name).is_dir()]


def main(argv: list[str] | None = None) -> int:
    """Lists the runs: `seq2seq-runs [DIR ...] [--sort KEY [--reverse]] [--where KEY=VALUE]
    [--format text|csv|json]`.

    Args:
        argv: the arguments (default: the command line's).

    Returns:
        0; bad arguments end the process with one line and exit status 2 instead.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    exit_if_version(argv)
    args = parser().parse_args(argv)
    with exit_on_user_error():
        key, descending = sort_key(args.sort) if args.sort else (None, False)
        conditions = [condition(text) for text in args.where]
        searched = directories(args.dirs)
        runs = select(read_runs(searched), conditions)
    if key is not None:
        runs = ordered(runs, key, descending != args.reverse)
    elif args.reverse:
        runs = runs[::-1]
    if args.format == "json":
        output = as_json(runs) + "\n"
    elif args.format == "csv":
        output = as_csv(runs)
    elif runs:
        output = as_text(runs, key.partition("/")[2] if key and "/" in key else None) + "\n"
    else:
        where = ", ".join(display_path(path) for path in searched)
        output = (f"no runs in {where}" if where else "no runs: no directory to search") + "\n"
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:
        # `seq2seq-runs | head`: the reader has what it wanted. Python's own flush at exit
        # would fail again on the closed pipe, so stdout goes to /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
