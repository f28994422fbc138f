"""Run directories written by hand, in the formats training writes them, for the tests of
`seq2seq-runs` (tests/config/test_runs.py) and of the listing the docs show (tests/docs):
listing reads files only, and these take milliseconds where a trained run takes seconds.

The formats are their writers': config.yaml and overrides.yaml when a run starts
(seq2seq/training/trainer.py), checkpoints/latest.json after each epoch, run.json at the
end (finish.py for a finished run, trainer.py for a failed or interrupted one, run.py for
what it records) and metrics.json last.
"""

import json
import os
import time
from pathlib import Path

import yaml

from seq2seq.base.names import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    LATEST_CHECKPOINT,
    METRICS_FILE,
    OVERRIDES_FILE,
    RUN_RECORD,
)


def local_time(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Seconds since the epoch of a time on this machine's clock, so that the listing
    shows it as written whatever the time zone."""
    return time.mktime((year, month, day, hour, minute, 0, 0, 0, -1))


#: When a run written here last wrote a record, unless told: 2026-12-07 10:04.
WHEN = local_time(2026, 12, 7, 10, 4)


def figures(exact_match: float, loss: float) -> dict:
    """A split's figures as the evaluator reports them (a few of them)."""
    return {"loss": loss, "token_accuracy": 0.9, "exact_match": exact_match, "truncated": 0}


def write_run(
    path: Path,
    status: str = "finished",
    overrides=("model=lstm",),
    units: int = 32,
    val=(0.5, 0.3),
    test=(0.4, 0.35),
    epochs: int = 10,
    when: float = WHEN,
    init_from: str | None = None,
    **record,
) -> Path:
    """Writes a run directory.

    Args:
        path: the run directory (made).
        status: finished, failed, interrupted, or stopped (killed: no run.json).
        overrides: its command line's overrides.
        units: its `model.units`.
        val: (exact match, loss) of validation, and `test` of the test split.
        epochs: epochs trained (finished) or checkpointed.
        when: the time its records are written at.
        init_from: its parent run's absolute path (config.yaml's and run.json's).
        **record: more of run.json (`train_seconds`, `averaged_epochs`).

    Returns:
        `path`.
    """
    path.mkdir(parents=True)
    # The task its overrides chose (`task=tsv`), as the run's resolved config would hold it.
    task = next((o.split("=", 1)[1] for o in overrides if o.startswith("task=")), "reverse")
    config = {"task": {"name": task}, "model": {"name": "lstm", "units": units}}
    config["trainer"] = {"epochs": epochs, "init_from": init_from, "xla": False}
    (path / CONFIG_FILE).write_text(yaml.safe_dump(config))
    (path / OVERRIDES_FILE).write_text(yaml.safe_dump(list(overrides)))
    (path / CHECKPOINTS_DIR).mkdir()
    (path / CHECKPOINTS_DIR / LATEST_CHECKPOINT).write_text(json.dumps({"epoch": epochs}))
    if init_from is not None:
        record["init_from"] = {"run_dir": init_from, "weights_copied": 10}
    written = {
        "finished": {"status": "completed", "epochs_trained": epochs, "final_epoch": epochs},
        "failed": {"status": "failed", "error": "the loss is not finite"},
        "interrupted": {"status": "interrupted", "signal": "SIGINT", "epochs_finished": epochs},
    }
    if status in written:
        run = {"version": "0.1.0", **written[status], **record}
        (path / RUN_RECORD).write_text(json.dumps(run, indent=2))
    if status == "finished":
        metrics = {"val": figures(*val), "test": figures(*test)}
        (path / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    for name in (CONFIG_FILE, OVERRIDES_FILE, RUN_RECORD, METRICS_FILE):
        if (path / name).exists():
            os.utime(path / name, (when, when))
    # The last checkpoint came before the end.
    os.utime(path / CHECKPOINTS_DIR / LATEST_CHECKPOINT, (when - 60, when - 60))
    return path
