"""Sweeps (`python train.py -m ...`): a failed job does not stop the others, and a summary.

Hydra's sweepers stop at the first job that raises; `run_sweep_job` records the failure
in the job's `run.json` and returns a `FailedRun` instead. The basic sweeper ignores
return values; the Optuna sweeper cannot turn a `FailedRun` into a number and records a
failed trial (allowed up to `hydra.sweeper.max_failure_rate`).

`SweepSummary`, a Hydra callback, then writes the sweep's table: job, overrides, status,
final metrics, training time, as `summary.csv` and `summary.md` in the sweep directory,
and prints it.
"""

import csv
import io
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from seq2seq.base.errors import Interrupted, describe
from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import METRICS_FILE, OVERRIDES_FILE, RUN_RECORD
from seq2seq.base.version import __version__
from seq2seq.config.schema import METRICS
from seq2seq.run.run_dir import write_overrides

log = logging.getLogger(__name__)

METRIC_COLUMNS = [f"{split}/{metric}" for split in ("val", "test") for metric in METRICS]


class FailedRun:
    """What a sweep job returns when its run failed.

    It is not a number (`float()` raises), so Hydra's Optuna sweeper records the trial
    as failed; the basic sweeper ignores return values and goes on.
    """

    def __init__(self, message: str):
        self.message = message

    def __float__(self):
        raise ValueError(f"the run failed: {self.message}")

    def __repr__(self):
        return f"FailedRun({self.message!r})"


def run_sweep_job(run: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Runs one job of a sweep; a failure is recorded instead of raised.

    Args:
        run: the job (validate and train), returning the optimized metric.
        cfg: the job's config.

    Returns:
        What `run` returns, or a `FailedRun` if it raised.
    """
    try:
        return run(cfg)
    except Interrupted:  # Ctrl-C or SIGTERM stops the sweep, not just this job
        raise
    except Exception as error:  # noqa: BLE001 - any failure is this job's alone
        message = describe(error)
        if message is None:  # not the user's input: keep the traceback in the job's log
            message = f"{type(error).__name__}: {error}"
            log.error("Job failed: %s\n%s", message, traceback.format_exc())
        else:
            log.error("Job failed: %s", message)
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        write_overrides(run_dir)
        record = {"version": __version__, "status": "failed", "error": message}
        atomic_write_text(run_dir / RUN_RECORD, json.dumps(record, indent=2) + "\n")
        return FailedRun(message)


def _job_row(job_dir: Path) -> dict[str, Any]:
    overrides = yaml.safe_load((job_dir / OVERRIDES_FILE).read_text()) or []
    row: dict[str, Any] = {"job": job_dir.name, "overrides": " ".join(overrides)}
    run_file = job_dir / RUN_RECORD
    run = json.loads(run_file.read_text()) if run_file.exists() else {"status": "did not finish"}
    row["status"] = run["status"] if "error" not in run else f"failed: {run['error']}"
    metrics_file = job_dir / METRICS_FILE
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    for column in METRIC_COLUMNS:
        split, name = column.split("/")
        row[column] = metrics.get(split, {}).get(name, "")
    row["train_seconds"] = run.get("train_seconds", "")
    return row


def summarize(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job of the sweep in `sweep_dir`, in job order."""
    jobs = [p.parent for p in sweep_dir.glob(f"*/{OVERRIDES_FILE}")]
    return [_job_row(job) for job in sorted(jobs, key=lambda p: (len(p.name), p.name))]


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    if not rows:
        return "(no jobs)"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_summary(sweep_dir: Path) -> str:
    """Writes `summary.csv` and `summary.md` into the sweep directory.

    Returns:
        The Markdown table.
    """
    rows = summarize(sweep_dir)
    table = markdown_table(rows)
    atomic_write_text(sweep_dir / "summary.md", table + "\n")
    text = io.StringIO()
    if rows:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(sweep_dir / "summary.csv", text.getvalue())
    return table


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, the summary of its jobs."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = write_summary(sweep_dir)
        print(f"\nSweep summary ({sweep_dir}/summary.csv, summary.md):\n{table}", flush=True)
