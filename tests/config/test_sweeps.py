"""Sweeps: parallel jobs, Optuna search, a failed job that does not stop the rest, a summary."""

import csv

import pytest
import yaml

from conftest import run_script
from seq2seq.run.sweep import FailedRun, markdown_table

pytestmark = pytest.mark.slow


def summary_rows(sweep_dir):
    with open(sweep_dir / "summary.csv") as f:
        return list(csv.DictReader(f))


#: Not auto, which on a CPU with AMX or AVX-512 BF16 times both precisions before each job
#: of another model (seconds each) and may pick either with the machine's load.
FLOAT32 = ("trainer.precision=float32",)


def test_grid_sweep_runs_jobs_in_parallel_and_survives_a_failed_job(tmp_path, data_dir):
    sweep_dir = tmp_path / "sweep"
    result = run_script(
        "train.py", "-m", "debug=fast", "model.units=16,0", "model.embedding_dim=8",
        f"data_dir={data_dir}", f"hydra.sweep.dir={sweep_dir}", *FLOAT32,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in result.stdout  # Hydra's joblib launcher
    rows = summary_rows(sweep_dir)
    assert [r["job"] for r in rows] == ["0", "1"]
    assert rows[0]["status"] == "completed" and float(rows[0]["val/token_accuracy"]) > 0
    assert rows[1]["status"] == "failed: model.units=0: must be an integer >= 1"
    assert rows[1]["val/exact_match"] == ""
    markdown = (sweep_dir / "summary.md").read_text()
    assert markdown.splitlines()[0].startswith("| job | overrides | status |")
    assert "Sweep summary" in result.stdout and "| 1 | debug=fast model.units=0" in result.stdout


def test_optuna_search_optimizes_the_named_metric_and_records_failed_trials(tmp_path, data_dir):
    sweep_dir = tmp_path / "search"
    # With this sampler seed, trial 2 draws model.units=0: a failed trial, not a stop.
    result = run_script(
        "train.py", "-m", "hparams_search=reverse_optuna", "debug=fast",
        "hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.seed=3", "model.units=choice(0,16)",
        f"data_dir={data_dir}", f"hydra.sweep.dir={sweep_dir}", *FLOAT32,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = summary_rows(sweep_dir)
    statuses = [r["status"] for r in rows]
    assert len(rows) == 3 and statuses.count("completed") == 2
    assert any(s.startswith("failed: model.units=0") for s in statuses)
    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert best["name"] == "optuna" and best["best_params"]["model.units"] == 16
    completed = [float(r["val/exact_match"]) for r in rows if r["status"] == "completed"]
    assert best["best_value"] == pytest.approx(max(completed))


def test_failed_run_is_not_a_number():
    with pytest.raises(ValueError, match="the run failed: boom"):
        float(FailedRun("boom"))


def test_markdown_table_formats_rows():
    table = markdown_table([{"job": "0", "status": "completed", "val/exact_match": 0.5}])
    assert table.splitlines() == [
        "| job | status | val/exact_match |",
        "|---|---|---|",
        "| 0 | completed | 0.5000 |",
    ]
