"""How `seq2seq-runs` prints the runs it lists: a text table for people, CSV and JSON for
programs (`seq2seq.cli.runs` chooses, filters and sorts them).

Text shows the figures that fit a terminal: validation's and test's exact match and the
metric sorted by, with times to the minute; a damaged run's problems follow the table.
CSV and JSON hold every figure, every run's problems and times to the second.
"""

import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from seq2seq.base.files import display_path
from seq2seq.config.watch_schema import METRICS
from seq2seq.run.listing import ListedRun

#: The splits a run's metrics.json measures.
SPLITS = ("val", "test")
#: The metric text shows beside the one sorted by.
SHOWN_METRIC = "exact_match"
#: A figure a run reports beside `METRICS`: the outputs cut short, fewer is better.
MORE_METRICS = {"truncated": "min"}
#: What text prints where a run has no value.
NONE = "-"
#: A run's fields in JSON and CSV, in order; its figures follow, by split.
FIELDS = (
    "run", "status", "problems", "when", "epochs", "kept_epoch", "train_seconds", "parent",
    "averaged_epochs", "ensemble", "overrides",
)  # fmt: skip


def metric_names(runs: list[ListedRun]) -> list[str]:
    """Every metric to give a column: the known ones (`METRICS`, then `truncated`), then
    any other the runs report, by name."""
    known = [*METRICS, *MORE_METRICS]
    found = {name for run in runs for figures in run.metrics.values() for name in figures}
    return known + sorted(found - set(known))


def _when(run: ListedRun, timespec: str) -> str | None:
    if run.when is None:
        return None
    moment = datetime.fromtimestamp(run.when).astimezone()
    if timespec == "minutes":
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.isoformat(timespec=timespec)


def _parent(run: ListedRun) -> str | None:
    # Recorded absolute: shown relative to the working directory when inside it, as typed.
    return None if run.parent is None else display_path(Path(run.parent))


def record(run: ListedRun) -> dict[str, Any]:
    """A run as JSON writes it: its path as shown, every field, times to the second."""
    return {
        "run": display_path(run.path),
        "status": run.status,
        "problems": list(run.problems),
        "when": _when(run, "seconds"),
        "epochs": run.epochs,
        "kept_epoch": run.kept_epoch,
        "train_seconds": run.train_seconds,
        "parent": _parent(run),
        "averaged_epochs": list(run.averaged_epochs),
        "ensemble": list(run.ensemble),
        "overrides": list(run.overrides),
        **{split: dict(run.metrics.get(split, {})) for split in SPLITS},
    }


def as_json(runs: list[ListedRun]) -> str:
    """The runs as a JSON list of objects (`record`'s)."""
    return json.dumps([record(run) for run in runs], indent=2)


def as_csv(runs: list[ListedRun]) -> str:
    """The runs as CSV with a header: one column per field and per split's metric (every
    known metric, so that the columns stay the same); lists joined by spaces, problems by
    `; `; a missing value empty."""
    metrics = [f"{split}/{name}" for split in SPLITS for name in metric_names(runs)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*FIELDS, *metrics])
    for run in runs:
        row = record(run)
        figures = [row[m.split("/")[0]].get(m.split("/")[1]) for m in metrics]
        writer.writerow(
            [_csv_cell(key, row[key]) for key in FIELDS] + [_csv_cell("", f) for f in figures]
        )
    return text.getvalue()


def _csv_cell(key: str, value: Any) -> Any:
    if isinstance(value, list):
        return ("; " if key == "problems" else " ").join(map(str, value))
    return "" if value is None else value


def _figure(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4f}"
    return str(value)


def duration(seconds: float | None) -> str:
    """A training time as people read it: `27.2s`, `3m05s`, `1h02m`."""
    if seconds is None:
        return NONE
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes = int(round(seconds)) // 60
    if minutes < 60:
        return f"{minutes}m{int(round(seconds)) % 60:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _epochs(epochs: list) -> str:
    if not epochs:
        return NONE
    if epochs == list(range(epochs[0], epochs[0] + len(epochs))):
        return f"{epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else str(epochs[0])
    return ",".join(map(str, epochs))


def as_text(runs: list[ListedRun], metric: str | None = None) -> str:
    """The runs as a table, a run a line, columns padded (figures to the right).

    Args:
        runs: the runs, in the order to print.
        metric: a metric to show beside exact match, in each split (the one sorted by).

    Returns:
        The table, then a line per damaged run's problem (`damaged: RUN: problem`);
        the parent, averaged and ensemble columns only when a run has one.
    """
    names = [SHOWN_METRIC] + ([metric] if metric not in (None, SHOWN_METRIC) else [])
    columns: list[tuple[str, Any]] = [
        ("run", lambda r: display_path(r.path)),
        ("status", lambda r: r.status),
        ("when", lambda r: _when(r, "minutes") or NONE),
        ("epochs", lambda r: NONE if r.epochs is None else str(r.epochs)),
        ("time", lambda r: duration(r.train_seconds)),
        *[
            (f"{split}/{name}", lambda r, s=split, n=name: _figure(r.metrics.get(s, {}).get(n)))
            for name in names
            for split in SPLITS
        ],
        ("averaged", lambda r: _epochs(r.averaged_epochs)),
        ("parent", lambda r: _parent(r) or NONE),
        ("ensemble", lambda r: " ".join(r.ensemble) or NONE),
        ("overrides", lambda r: " ".join(r.overrides)),
    ]
    optional = ("averaged", "parent", "ensemble")
    table = [[title, *(cell(run) for run in runs)] for title, cell in columns]
    table = [c for c in table if c[0] not in optional or any(v != NONE for v in c[1:])]
    right = {"epochs", "time", *(c[0] for c in table if "/" in c[0])}
    widths = [max(map(len, column)) for column in table]
    lines = []
    for i in range(len(runs) + 1):
        cells = [c[i].rjust(w) if c[0] in right else c[i].ljust(w) for c, w in zip(table, widths)]
        lines.append("  ".join(cells).rstrip())
    for run in runs:
        lines += [f"damaged: {display_path(run.path)}: {problem}" for problem in run.problems]
    return "\n".join(lines)
