"""A run pins its data: a run on a file of pairs saves what it held out, evaluation
measures exactly that whatever becomes of the file, another file is an explicit choice,
evaluations do not overwrite each other, and repeated sources are counted."""

import json
import shutil

import pytest

import seq2seq
from conftest import write_pairs
from seq2seq import UserError, compose_config, evaluate
from seq2seq.base.names import HELD_OUT_DIR
from seq2seq.data.held_out import example_source
from seq2seq.run.run_dir import open_run
from seq2seq.serving.evaluate_run import evaluate_run

# float32 whatever `auto` picks here: evaluate's loss is compared with the run's to 1e-5,
# and bfloat16's rounding depends on the batch (evaluate's are larger).
TSV = ("task=tsv", "task.val_size=20", "task.test_size=20", "model.units=16",
       "model.embedding_dim=8", "trainer.epochs=1", "trainer.batch_size=32", "logging.images=false",
       "trainer.precision=float32")  # fmt: skip


@pytest.fixture(scope="module")
def tsv_run(tmp_path_factory):
    """A finished run on a file of 200 distinct sources and 10 repeated ones."""
    root = tmp_path_factory.mktemp("pinned")
    path = write_pairs(root / "pairs.tsv", 200, repeats=10)
    run_dir = root / "run"
    metrics = seq2seq.train(compose_config([*TSV, f"task.path={path}"]), run_dir=str(run_dir))
    return run_dir, path, metrics


def copy_run(tsv_run, tmp_path):
    """A copy of the run and its file, to change without touching the shared one."""
    run_dir, path, metrics = tsv_run
    path_copy = shutil.copy(path, tmp_path / "pairs.tsv")
    run_copy = tmp_path / "run"
    shutil.copytree(run_dir, run_copy)
    config = (run_copy / "config.yaml").read_text().replace(str(path), str(path_copy))
    (run_copy / "config.yaml").write_text(config)
    record = (run_copy / "data.json").read_text()
    (run_copy / "data.json").write_text(
        record.replace(json.dumps(str(path)), json.dumps(str(path_copy)))
    )
    return run_copy, path_copy, metrics


@pytest.mark.slow
def test_the_run_records_its_file_and_saves_its_held_out_pairs(tsv_run):
    run_dir, path, _ = tsv_run
    record = json.loads((run_dir / "data.json").read_text())
    assert record["path"] == str(path) and len(record["sha256"]) == 64
    assert record["splits"] == {"train": 160, "val": 20, "test": 20}
    for split in ("val", "test"):
        lines = (run_dir / "held_out" / f"{split}.tsv").read_text().splitlines()
        # a held-out source keeps every target: one line per pair, its lines together
        assert len({line.split("\t")[0] for line in lines}) == 20 and len(lines) >= 20
        assert all("\t" in line for line in lines)


@pytest.mark.slow
def test_repeated_sources_are_counted_in_the_log_and_run_json(tsv_run, caplog, tmp_path):
    from seq2seq.data import tsv

    run_dir, path, _ = tsv_run
    data = json.loads((run_dir / "run.json").read_text())["data"]
    assert data["repeated_sources"] == {"lines": 10, "kept": "first"}
    tsv.load(compose_config([*TSV, f"task.path={path}"]).task, 0, tmp_path)
    assert (
        "10 lines repeat a source seen on an earlier line; each source keeps its first line"
        in caplog.text
    )


def test_keeping_all_pairs_trains_on_them_and_never_on_a_held_out_source(tmp_path):
    from seq2seq.data import tsv

    path = write_pairs(tmp_path / "pairs.tsv", 100, repeats=100)  # every source twice
    task = compose_config([*TSV, f"task.path={path}", "task.repeated_sources=all"]).task
    data = tsv.load(task, 0, tmp_path)
    assert data.record["splits"]["train"] == 2 * (100 - 40)
    held_out = {source for split in data.held_out_text.values() for source, _ in split}
    train_sources = {tuple(row[row > 0]) for row in data.train.to_split().source_ids}
    held_out_ids = {tuple(data.vocabs.source.encode_text(s)) for s in held_out}
    assert not held_out_ids & train_sources


@pytest.mark.slow
def test_evaluate_measures_the_held_out_pairs_after_the_file_grew(tsv_run, tmp_path):
    run_dir, path, metrics = copy_run(tsv_run, tmp_path)
    write_pairs(tmp_path / "more.tsv", 60, start=300)
    with open(path, "a") as f:
        f.write((tmp_path / "more.tsv").read_text())
    cfg = compose_config([f"run_dir={run_dir}"], config_name="evaluate")
    report = evaluate_run(cfg)["split"]
    assert report["size"] == 20
    assert report["exact_match"] == metrics["test"]["exact_match"]
    assert report["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-5)


@pytest.mark.slow
def test_resuming_on_a_changed_file_is_refused(tsv_run, tmp_path):
    run_dir, path, _ = copy_run(tsv_run, tmp_path)
    with open(path, "a") as f:
        f.write("new\tline\n")
    cfg = compose_config([*TSV, f"task.path={path}", "trainer.resume=true"])
    with pytest.raises(UserError, match="pairs.tsv changed since the run started"):
        with open_run(cfg, run_dir):
            pass


@pytest.mark.slow
def test_another_file_is_evaluated_only_when_asked_and_no_report_overwrites_another(
    tsv_run, tmp_path, capsys
):
    run_dir, _, _ = copy_run(tsv_run, tmp_path)
    other = write_pairs(tmp_path / "other.tsv", 30, start=500)
    for args in ([], ["decoding=beam", "decoding.beam_size=2"], [f"eval.file={other}"]):
        assert evaluate.main([f"run_dir={run_dir}", *args]) == 0
    written = sorted(p.name for p in (run_dir / "evaluation").iterdir())
    reports = ["file-other-greedy", "test-beam2-lp0", "test-greedy"]
    assert written == sorted(f"{r}{end}" for r in reports for end in (".json", ".examples.tsv"))
    report = json.loads((run_dir / "evaluation" / "file-other-greedy.json").read_text())
    assert report["split"]["size"] == 30


def test_the_finished_runs_predict_line_shows_a_source_with_nothing_to_escape(tmp_path):
    held_out = tmp_path / HELD_OUT_DIR
    held_out.mkdir()
    (held_out / "test.tsv").write_text("'course\tk ao r s\nit's\ti t s\nspeech\ts p iy ch\n")
    assert example_source(tmp_path, None) == "speech"
    # None plain among them: the first, which the line then quotes for the shell and Hydra.
    (held_out / "test.tsv").write_text("'course\tk ao r s\n")
    assert example_source(tmp_path, None) == "'course"
