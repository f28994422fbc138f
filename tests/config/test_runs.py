"""`seq2seq-runs`: every run under some directories in one table, read from the run
directories alone (seq2seq/run/listing.py reads, seq2seq/cli/runs.py filters
and sorts, runs_format.py prints). The run directories are written by hand in their
writers' formats (tests/run_dirs.py; evaluate's reports as seq2seq/evaluation/report.py
writes them), and one is a real tiny run."""

import csv
import fcntl
import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
import yaml

from conftest import ROOT
from run_dirs import WHEN, figures, write_run
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
from seq2seq.cli import commands
from seq2seq.cli.runs import main
from seq2seq.run import listing, run_lock


def listed(capsys, *args) -> list:
    """`seq2seq-runs ARGS --format json`, parsed."""
    assert main([*map(str, args), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def refused(capsys, *args) -> str:
    """The one line `seq2seq-runs ARGS` prints when it refuses them, exit status 2."""
    with pytest.raises(SystemExit) as stop:
        main(list(map(str, args)))
    assert stop.value.code == 2
    printed = capsys.readouterr()
    assert printed.out == "" and len(printed.err.splitlines()) == 1, printed
    return printed.err.strip()


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A sweep of four finished jobs, and beside it a fine-tuned run, an interrupted, a
    failed and a killed one; the working directory is `tmp_path`."""
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "multirun" / "2026-12-07" / "10-00-00"
    write_run(sweep / "0", units=32, val=(0.5, 0.4), train_seconds=27.23)
    write_run(sweep / "1", units=64, val=(0.7, 0.2), train_seconds=27.4)
    write_run(sweep / "2", units=32, val=(0.99, 0.1), overrides=["model=attention"])
    write_run(sweep / "10", units=64, val=(0.6, 0.25))  # after 2: job numbers, not text
    (sweep / "multirun.yaml").write_text("{}")  # a sweep's own file makes no run
    outputs = tmp_path / "outputs" / "2026-12-07"
    write_run(
        outputs / "11-00-00", overrides=["experiment=cmudict"], units=256, val=(0.8, 0.15),
        init_from=str(sweep / "2"), averaged_epochs=[6, 7, 8], train_seconds=3725.0,
    )  # fmt: skip
    write_run(outputs / "12-00-00", status="interrupted", epochs=3)
    write_run(outputs / "13-00-00", status="failed", epochs=0)
    write_run(outputs / "14-00-00", status="stopped", epochs=5)
    return tmp_path


# --- what is listed -------------------------------------------------------------------


def test_every_run_is_listed_once_in_path_order_with_its_status(runs, capsys):
    rows = listed(capsys)  # the defaults: outputs/ then multirun/
    assert [(row["run"], row["status"]) for row in rows] == [
        ("outputs/2026-12-07/11-00-00", "finished"),
        ("outputs/2026-12-07/12-00-00", "interrupted"),
        ("outputs/2026-12-07/13-00-00", "failed"),
        ("outputs/2026-12-07/14-00-00", "stopped"),
        ("multirun/2026-12-07/10-00-00/0", "finished"),
        ("multirun/2026-12-07/10-00-00/1", "finished"),
        ("multirun/2026-12-07/10-00-00/2", "finished"),
        ("multirun/2026-12-07/10-00-00/10", "finished"),
    ]
    # A directory named twice, or inside another named one, is listed once; `runs/` is
    # not searched unless named.
    assert len(listed(capsys, "outputs", "outputs/2026-12-07", "multirun")) == 8
    write_run(runs / "runs" / "mine")
    assert [row["run"] for row in listed(capsys, "runs")] == ["runs/mine"]
    assert len(listed(capsys)) == 8


def test_a_run_has_its_figures_epochs_time_parent_averaging_and_overrides(runs, capsys):
    (row,) = listed(capsys, "outputs", "--where", "status=finished")
    assert row["val"] == figures(0.8, 0.15) and row["test"] == figures(0.4, 0.35)
    assert (row["epochs"], row["kept_epoch"], row["train_seconds"]) == (10, 10, 3725.0)
    assert row["parent"] == "multirun/2026-12-07/10-00-00/2"  # recorded absolute
    assert row["averaged_epochs"] == [6, 7, 8]
    assert row["overrides"] == ["experiment=cmudict"]
    assert row["when"] == datetime.fromtimestamp(WHEN).astimezone().isoformat()
    assert row["problems"] == [] and row["ensemble"] == []


def test_a_run_that_has_not_finished_counts_its_checkpointed_epochs(runs, capsys):
    rows = {row["run"].split("/")[-1]: row for row in listed(capsys, "outputs")}
    assert rows["12-00-00"]["epochs"] == 3 and rows["14-00-00"]["epochs"] == 5
    assert rows["13-00-00"]["epochs"] == 0
    assert rows["12-00-00"]["val"] == {} and rows["12-00-00"]["train_seconds"] is None


def test_the_ensembles_a_run_was_evaluated_with_name_their_members(runs, capsys):
    reports = runs / "multirun" / "2026-12-07" / "10-00-00" / "2" / EVALUATION_DIR
    reports.mkdir()
    (reports / "test-greedy.json").write_text(json.dumps({"split": {"name": "test"}}))
    (reports / "test-greedy-ensemble3-0a1b2c3d.json").write_text(
        json.dumps({"ensemble": ["runs/b", "runs/c"]})
    )
    (reports / "val-greedy-ensemble2-0a1b2c3e.json").write_text(
        json.dumps({"ensemble": ["runs/b"]})
    )
    (row,) = listed(capsys, reports.parent)
    assert row["ensemble"] == ["runs/b", "runs/c"] and row["status"] == "finished"


def test_a_run_whose_lock_is_held_is_running(runs, capsys):
    run_dir = runs / "outputs" / "2026-12-07" / "12-00-00"  # was interrupted, now resumed
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as run_lock holds it
        (row,) = listed(capsys, run_dir)
        assert row["status"] == "running"
        fcntl.flock(fd, fcntl.LOCK_UN)
        (row,) = listed(capsys, run_dir)
        assert row["status"] == "interrupted"  # the lock file left behind counts for nothing
    finally:
        os.close(fd)


def test_without_a_table_of_locks_the_process_the_lock_file_names_decides(runs, monkeypatch):
    monkeypatch.setattr(run_lock, "PROC_LOCKS", runs / "no-such-table")
    run_dir = runs / "outputs" / "2026-12-07" / "14-00-00"
    (run_dir / LOCK_FILE).write_text(f"{os.getpid()}\n")
    assert listing.read_run(run_dir).status == "running"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)  # fmt: skip
    (run_dir / LOCK_FILE).write_text(finished.stdout)  # a process that has ended
    assert listing.read_run(run_dir).status == "stopped"


def test_the_listing_changes_nothing_and_never_takes_a_lock(runs, capsys, monkeypatch):
    run_dir = runs / "outputs" / "2026-12-07" / "14-00-00"
    (run_dir / LOCK_FILE).write_text("1\n")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.rglob("*") if p.is_file()}

    def flock(*args):  # taking it, even for an instant, would refuse a run starting then
        raise AssertionError("the listing took a lock")

    monkeypatch.setattr(fcntl, "flock", flock)
    assert len(listed(capsys)) == 8 and listing.read_run(run_dir).status == "stopped"
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.rglob("*") if p.is_file()}
    assert after == before


# --- damaged runs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, problem",
    [
        (RUN_RECORD, '{"status": "compl', "run.json: not valid JSON (Unterminated string"),
        (RUN_RECORD, "", "run.json: not valid JSON (Expecting value: line 1 column 1"),
        (METRICS_FILE, "[1, 2]", "metrics.json: holds a list, not a dict"),
        (METRICS_FILE, '{"val": 0.5}', "metrics.json: val holds a float"),
        (CONFIG_FILE, "model: [units", "config.yaml: not valid YAML ("),
        (OVERRIDES_FILE, "", "overrides.yaml: holds nothing, not a list"),
        (f"{CHECKPOINTS_DIR}/{LATEST_CHECKPOINT}", "{", "checkpoints/latest.json: not valid JSON"),
        (RUN_RECORD, b"\xff\xfe", "run.json: cannot be read ("),
        (f"{EVALUATION_DIR}/test-greedy.json", "{", "evaluation/test-greedy.json: not valid JSON"),
    ],
)
def test_a_damaged_run_is_listed_as_damaged_and_the_listing_goes_on(
    runs, capsys, name, text, problem
):
    run_dir = runs / "outputs" / "2026-12-07" / "11-00-00"
    (run_dir / name).parent.mkdir(exist_ok=True)
    if isinstance(text, bytes):
        (run_dir / name).write_bytes(text)
    else:
        (run_dir / name).write_text(text)
    rows = listed(capsys)
    assert len(rows) == 8 and rows[0]["status"] == "damaged"
    assert [p[: len(problem)] for p in rows[0]["problems"]] == [problem]
    assert [row["status"] for row in rows[1:4]] == ["interrupted", "failed", "stopped"]
    # What the other files say is still there: the overrides.
    if name != OVERRIDES_FILE:
        assert rows[0]["overrides"] == ["experiment=cmudict"]
    # Text names the problem under the table.
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"damaged: outputs/2026-12-07/11-00-00: {problem}" in out


def test_a_run_that_cannot_be_read_at_all_is_damaged_too(runs, capsys, monkeypatch):
    def broken(path):
        if path.name == "0":
            raise RecursionError("a bug, or a file system that misbehaves")
        return original(path)

    original = listing.read_run
    monkeypatch.setattr(listing, "read_run", broken)
    rows = listed(capsys, "multirun")
    assert [row["status"] for row in rows] == ["damaged", "finished", "finished", "finished"]
    assert rows[0]["problems"] == ["RecursionError: a bug, or a file system that misbehaves"]


# --- sorting and filtering ------------------------------------------------------------


def names(rows) -> list:
    return [row["run"].removeprefix("multirun/2026-12-07/10-00-00/") for row in rows]


def test_sorting_by_a_metric_puts_the_best_first_and_runs_without_it_last(runs, capsys):
    everything = ["multirun", "outputs"]
    assert names(listed(capsys, *everything, "--sort", "val/exact_match"))[:6] == [
        "2", "outputs/2026-12-07/11-00-00", "1", "10", "0", "outputs/2026-12-07/12-00-00",
    ]  # fmt: skip
    # Lower is better for the loss; --reverse turns it round, runs without it still last.
    assert names(listed(capsys, "multirun", "--sort", "val/loss")) == ["2", "1", "10", "0"]
    reverse = names(listed(capsys, *everything, "--sort", "val/loss", "--reverse"))
    assert reverse[:5] == ["0", "10", "1", "outputs/2026-12-07/11-00-00", "2"]
    assert reverse[5:] == [f"outputs/2026-12-07/{t}-00-00" for t in (12, 13, 14)]
    # A column: ascending; ties keep their listed order.
    assert names(listed(capsys, "outputs", "--sort", "epochs"))[0] == "outputs/2026-12-07/13-00-00"
    seconds = names(listed(capsys, *everything, "--sort", "train_seconds"))
    assert seconds[:3] == ["0", "1", "outputs/2026-12-07/11-00-00"]


def test_filtering_by_a_config_key_a_choice_a_column_or_several(runs, capsys):
    assert names(listed(capsys, "multirun", "--where", "model.units=64")) == ["1", "10"]
    assert names(listed(capsys, "--where", "experiment=cmudict")) == ["outputs/2026-12-07/11-00-00"]
    assert names(listed(capsys, "--where", "model=attention")) == ["2"]
    assert len(listed(capsys, "--where", "status=finished")) == 5
    both = listed(capsys, "--where", "status=finished", "--where", "model.units=32")
    assert names(both) == ["0", "2"]
    # Values read as YAML: false is a flag's value, not the number 0.
    assert len(listed(capsys, "--where", "trainer.xla=false")) == 8
    assert listed(capsys, "--where", "trainer.xla=0") == []
    assert len(listed(capsys, "--where", "trainer.init_from=null")) == 7
    assert names(listed(capsys, "--where", "parent=multirun/2026-12-07/10-00-00/2")) == [
        "outputs/2026-12-07/11-00-00"
    ]
    assert names(listed(capsys, "--where", "overrides=model=attention")) == ["2"]


def test_a_key_filters_by_its_old_name_too_and_finds_runs_saved_under_it(runs, capsys):
    saved = runs / "outputs" / "2026-12-07" / "11-00-00" / "config.yaml"
    config = yaml.safe_load(saved.read_text())
    config["task"]["max_len"] = 8  # a run saved before task.max_source_symbols
    saved.write_text(yaml.safe_dump(config))
    for key in ("task.max_len", "task.max_source_symbols"):
        assert names(listed(capsys, "--where", f"{key}=8")) == ["outputs/2026-12-07/11-00-00"]


# --- formats --------------------------------------------------------------------------


def test_text_is_a_padded_table_with_the_metric_sorted_by(runs, capsys):
    assert main(["multirun", "outputs", "--sort", "val/loss"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    assert header == [
        "run", "status", "when", "epochs", "time", "val/exact_match", "test/exact_match",
        "val/loss", "test/loss", "averaged", "parent", "overrides",
    ]  # fmt: skip
    assert len(lines) == 9
    first = lines[1].split()
    assert first[:4] == ["multirun/2026-12-07/10-00-00/2", "finished", "2026-12-07", "10:04"]
    assert first[5:10] == ["-", "0.9900", "0.4000", "0.1000", "0.3500"]
    cmudict = next(line for line in lines if "11-00-00" in line).split()
    assert cmudict[5] == "1h02m"
    assert cmudict[10:] == ["6-8", "multirun/2026-12-07/10-00-00/2", "experiment=cmudict"]
    # Columns line up: each header title starts where its values do.
    start = lines[0].index("status")
    assert all(line[start:].startswith(("finished", "interrupted", "failed", "stopped")) for line in lines[1:])  # fmt: skip
    # Without parents or averaging, those columns are left out.
    assert main(["multirun"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[-1] == "overrides" and not {"averaged", "parent", "ensemble"} & set(header)


def test_csv_has_a_column_per_field_and_figure(runs, capsys):
    assert main(["multirun", "--format", "csv", "--sort", "val/exact_match"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert names(rows) == ["2", "1", "10", "0"]
    assert rows[0]["val/exact_match"] == "0.99" and rows[0]["test/loss"] == "0.35"
    assert rows[0]["val/bleu"] == "" and rows[0]["overrides"] == "model=attention"
    assert rows[0]["status"] == "finished" and rows[0]["epochs"] == "10"
    assert main(["outputs", "--format", "csv"]) == 0
    first = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert first["averaged_epochs"] == "6 7 8" and first["train_seconds"] == "3725.0"


def test_no_runs_is_an_empty_listing_in_every_format(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    assert capsys.readouterr().out == "no runs: no directory to search\n"
    (tmp_path / "outputs").mkdir()
    assert main([]) == 0 and capsys.readouterr().out == "no runs in outputs\n"
    assert listed(capsys) == []
    assert main(["--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("run,status,problems,when,")


# --- refusals and the command ---------------------------------------------------------


def test_bad_arguments_are_refused_in_one_line_naming_the_value(runs, capsys):
    assert refused(capsys, "nowhere") == (
        "error: nowhere: no such directory; allowed: directories that hold runs, at any "
        "depth (default: outputs and multirun)"
    )
    (runs / "file.txt").write_text("")
    assert refused(capsys, "file.txt").startswith("error: file.txt: is not a directory;")
    assert refused(capsys, "--format", "xml").startswith(
        "error: argument --format: invalid choice: 'xml' (choose from 'text', 'csv', 'json')"
    )
    assert refused(capsys, "--sort", "val/exactmatch").startswith(
        "error: --sort='val/exactmatch': allowed: SPLIT/METRIC with SPLIT val or test and "
        "METRIC one of loss, token_accuracy, exact_match,"
    )
    assert refused(capsys, "--sort", "model.units").startswith("error: --sort='model.units'")
    assert refused(capsys, "--where", "model.units").startswith(
        "error: --where='model.units': allowed: KEY=VALUE,"
    )
    assert refused(capsys, "--where", "modle.units=64").startswith(
        "error: --where modle.units=64: no listed run has modle.units;"
    )


def test_the_console_script_answers_version_first(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["seq2seq-runs", "--version"])
    with pytest.raises(SystemExit) as stop:
        commands.runs()
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("seq2seq ")


def test_the_command_lists_without_loading_tensorflow(runs):
    code = (
        "import sys\nfrom seq2seq.cli.runs import main\n"
        "assert main(['--sort', 'val/exact_match']) == 0\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow loaded'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=runs, capture_output=True, text=True, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("multirun/2026-12-07/10-00-00/2 ")
    module = subprocess.run(
        [sys.executable, "-m", "seq2seq.cli.runs", "multirun", "--format", "csv"],
        cwd=runs, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert module.returncode == 0 and len(module.stdout.splitlines()) == 5, module.stderr


@pytest.mark.slow  # reads a trained run (conftest's tiny_run): the listing's own tests read written ones
def test_a_real_run_is_listed_as_training_wrote_it(tmp_path, tiny_run, capsys, monkeypatch):
    run_dir = tmp_path / "outputs" / "real"
    metrics = tiny_run(run_dir)
    capsys.readouterr()  # what training printed
    monkeypatch.chdir(tmp_path)
    (row,) = listed(capsys, "--where", "model.units=16", "--sort", "val/loss")
    assert (row["run"], row["status"], row["epochs"], row["kept_epoch"]) == (
        "outputs/real", "finished", 1, 1,
    )  # fmt: skip
    assert row["val"] == pytest.approx(metrics["val"]) and row["problems"] == []
    assert row["train_seconds"] > 0 and row["parent"] is None
    assert abs(datetime.fromisoformat(row["when"]).timestamp() - time.time()) < 600
