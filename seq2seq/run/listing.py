"""Every run under some directories, read from its files alone: what `seq2seq-runs` lists
(`seq2seq.cli.runs` filters, sorts and prints it).

A run directory is one that holds any of a run's records: its config, overrides, run.json,
metrics.json or lock. Its status comes from them, in this order:

- `running`: a process holds its lock now (`run_lock.lock_is_held`);
- `finished`: metrics.json is there (written last);
- `failed`, `interrupted`: what run.json says;
- `stopped`: none of these: the process ended without a record (killed, or the machine went
  down); `trainer.resume=true` continues it from its last checkpoint;
- `damaged`, before all of them: a record could not be read; the run's `problems` name the
  file and why, and the rest is what its other files say.

Reading never writes and never takes the lock, and one run's damage never stops the others.
No TensorFlow: the files are JSON and YAML.
"""

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seq2seq.base.names import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    EVALUATION_DIR,
    LATEST_CHECKPOINT,
    LOCK_FILE,
    METRICS_FILE,
    OVERRIDES_FILE,
    RUN_RECORD,
)
from seq2seq.config.renamed import upgraded
from seq2seq.run.run_lock import lock_is_held

RUNNING, FINISHED, FAILED, INTERRUPTED, STOPPED, DAMAGED = (
    "running", "finished", "failed", "interrupted", "stopped", "damaged",
)  # fmt: skip
#: Every status a listed run can have.
STATUSES = (RUNNING, FINISHED, FAILED, INTERRUPTED, STOPPED, DAMAGED)
#: The files whose presence makes a directory a run directory.
RUN_MARKERS = (CONFIG_FILE, OVERRIDES_FILE, RUN_RECORD, METRICS_FILE, LOCK_FILE)
#: The files whose time says when a run last recorded something (its end, once it ended).
TIMED = (METRICS_FILE, RUN_RECORD, f"{CHECKPOINTS_DIR}/{LATEST_CHECKPOINT}", CONFIG_FILE)


@dataclass
class ListedRun:
    """One run directory as its files describe it.

    Attributes:
        path: the run directory.
        status: one of `STATUSES`.
        problems: what could not be read, one line each (`damaged` when any).
        when: the time (seconds since the epoch) the run last wrote a record, or None.
        overrides: its command line's overrides.
        metrics: metrics.json's `{"val": {...}, "test": {...}}` (empty until finished).
        epochs: epochs trained (the run's last checkpoint's while it has not finished).
        kept_epoch: the epoch whose weights the final model holds (run.json's).
        train_seconds: run.json's training time (the last process's, for a resumed run).
        parent: the run it was fine-tuned from (`trainer.init_from`), as recorded.
        averaged_epochs: the epochs whose checkpoints were averaged into the final model.
        ensemble: the other members of the ensembles `evaluate` measured it with.
        config: its resolved config (config.yaml), for filtering.
    """

    path: Path
    status: str = STOPPED
    problems: list = field(default_factory=list)
    when: float | None = None
    overrides: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    epochs: int | None = None
    kept_epoch: int | None = None
    train_seconds: float | None = None
    parent: str | None = None
    averaged_epochs: list = field(default_factory=list)
    ensemble: list = field(default_factory=list)
    config: dict = field(default_factory=dict)


def _natural(name: str) -> list:
    """A sort key that puts sweep job `2` before `10`: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def find_runs(directories: Iterable[Path]) -> list[Path]:
    """The run directories under each directory (itself included), in path order.

    A run directory's own folders (checkpoints, TensorBoard, evaluation) are not searched,
    nor hidden folders; folders that cannot be read are passed over.

    Args:
        directories: where to look.

    Returns:
        Each run directory once, those of the first directory first.
    """
    found, seen = [], set()
    for top in directories:
        for here, folders, files in os.walk(top):
            if set(RUN_MARKERS) & set(files):
                folders.clear()  # a run's own folders hold no runs
                if Path(here).resolve() not in seen:
                    seen.add(Path(here).resolve())
                    found.append(Path(here))
                continue
            folders[:] = sorted((f for f in folders if not f.startswith(".")), key=_natural)
    return found


def _read(run_dir: Path, name: str, parse: Callable, kind: type, problems: list) -> Any:
    """The file `name` of the run directory, parsed, or None if it is absent or damaged
    (a line added to `problems`: unreadable, unparsable, or not a `kind`)."""
    try:
        text = (run_dir / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:  # ValueError: not UTF-8
        problems.append(f"{name}: cannot be read ({getattr(error, 'strerror', None) or error})")
        return None
    try:
        value = parse(text)
    except (ValueError, yaml.YAMLError) as error:
        language = "JSON" if parse is json.loads else "YAML"
        reason = str(error).splitlines()[0]
        problems.append(f"{name}: not valid {language} ({reason})")
        return None
    if not isinstance(value, kind):
        held = "nothing" if value is None else f"a {type(value).__name__}"
        problems.append(f"{name}: holds {held}, not a {kind.__name__}")
        return None
    return value


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(run_dir: Path) -> float | None:
    times = []
    for name in TIMED:
        try:
            times.append((run_dir / name).stat().st_mtime)
        except OSError:
            continue
    return max(times, default=None)


def _ensemble(run_dir: Path, problems: list) -> list:
    """The other members of every ensemble `evaluate` measured this run with, in order."""
    members = []
    reports = run_dir / EVALUATION_DIR
    for report in sorted(reports.glob("*.json")) if reports.is_dir() else ():
        found = _read(run_dir, str(report.relative_to(run_dir)), json.loads, dict, problems)
        for member in (found or {}).get("ensemble") or ():
            if str(member) not in members:
                members.append(str(member))
    return members


def _status(run: ListedRun, record: dict | None, metrics: dict | None) -> str:
    if run.problems:
        return DAMAGED
    if lock_is_held(run.path):
        return RUNNING
    if metrics is not None:
        return FINISHED
    if record is not None and record.get("status") in (FAILED, INTERRUPTED):
        return record["status"]
    # No record of the end, or run.json written ("completed") but the kill came before
    # metrics.json: either way the process ended without finishing.
    return STOPPED


def read_run(run_dir: Path) -> ListedRun:
    """One run directory, read from its files.

    Args:
        run_dir: the run directory.

    Returns:
        The run; a record that cannot be read makes it `damaged`, naming the file.
    """
    run = ListedRun(path=Path(run_dir))
    problems = run.problems
    record = _read(run.path, RUN_RECORD, json.loads, dict, problems)
    metrics = _read(run.path, METRICS_FILE, json.loads, dict, problems)
    run.config = upgraded(_read(run.path, CONFIG_FILE, yaml.safe_load, dict, problems) or {})
    overrides = _read(run.path, OVERRIDES_FILE, yaml.safe_load, list, problems)
    run.overrides = [str(override) for override in overrides or ()]
    latest = _read(run.path, f"{CHECKPOINTS_DIR}/{LATEST_CHECKPOINT}", json.loads, dict, problems)
    for split, figures in (metrics or {}).items():
        if not isinstance(figures, dict):
            problems.append(f"{METRICS_FILE}: {split} holds a {type(figures).__name__}")
    run.metrics = {k: v for k, v in (metrics or {}).items() if isinstance(v, dict)}
    record_ = record or {}
    checkpointed = _integer((latest or {}).get("epoch"))
    ended = _integer(record_.get("epochs_trained"))
    if ended is None:  # an interrupted run's record
        ended = _integer(record_.get("epochs_finished"))
    run.epochs = ended if metrics is not None or checkpointed is None else checkpointed
    run.kept_epoch = _integer(record_.get("final_epoch"))
    seconds = record_.get("train_seconds")
    run.train_seconds = seconds if isinstance(seconds, int | float) else None
    init_from = record_.get("init_from")
    trainer = run.config.get("trainer")
    parent = trainer.get("init_from") if isinstance(trainer, dict) else None
    if parent is None and isinstance(init_from, dict):
        parent = init_from.get("run_dir")
    run.parent = None if parent is None else str(parent)
    averaged = record_.get("averaged_epochs")
    averaged = averaged if isinstance(averaged, list) else []
    run.averaged_epochs = [epoch for epoch in averaged if _integer(epoch) is not None]
    run.ensemble = _ensemble(run.path, problems)
    run.when = _when(run.path)
    run.status = _status(run, record, metrics)
    return run


def read_runs(directories: Iterable[Path]) -> list[ListedRun]:
    """Every run under the directories (`find_runs`), read (`read_run`).

    Returns:
        The runs in path order; one that could not be read at all is `damaged`, with the
        error as its problem.
    """
    runs = []
    for path in find_runs(directories):
        try:
            runs.append(read_run(path))
        except Exception as error:  # noqa: BLE001 - one damaged run must not stop the listing
            runs.append(ListedRun(path, DAMAGED, [f"{type(error).__name__}: {error}"]))
    return runs
