"""The block `python train.py` ends with: the run, its figure, the commands that use it
(`seq2seq.cli.finished`, without TensorFlow; tests/training/test_training.py sees it
at the end of a real run)."""

import json
import shlex

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from seq2seq.cli.finished import commands, finished_block

METRICS = {
    "val": {"exact_match": 0.987654321, "loss": 0.1},
    "test": {"exact_match": 0.975, "loss": 0.2},
}


def write_record(run_dir, **record):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps(record))


def block_lines(run_dir, example="3 1 4", arguments=(), program="train.py", metrics=METRICS):
    text = finished_block(run_dir, metrics, "val/exact_match", program, list(arguments), example)
    return {
        key.strip(): value.strip()
        for key, value in (line.split(": ", 1) for line in text.splitlines())
    }


def test_the_block_names_the_run_its_kept_figure_and_the_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_record(tmp_path / "outputs" / "run", monitor="val/loss", final_epoch=3, epochs_trained=5)
    lines = block_lines(
        tmp_path / "outputs" / "run",
        arguments=["model.units=64", "hydra.run.dir=outputs/run", "task.path=my pairs.tsv"],
    )
    assert lines["Finished"] == "outputs/run"
    assert (
        lines["kept"]
        == "epoch 3 of 5: val/loss 0.1000, test/loss 0.2000 (every figure: metrics.json)"
    )
    assert lines["evaluate"] == "python -m seq2seq.evaluate run_dir=outputs/run"
    assert lines["predict"] == "python -m seq2seq.predict run_dir=outputs/run input=\"'3 1 4'\""
    assert lines["serve"].startswith("outputs/run/saved_model/1, a SavedModel: docker run")
    assert f"-v {tmp_path}/outputs/run/saved_model:/models/seq2seq" in lines["serve"]
    # The same command, its arguments as typed, starting from the run's weights.
    assert shlex.split(lines["fine-tune"]) == [
        "python", "train.py", "model.units=64", "task.path=my pairs.tsv",
        "trainer.init_from=outputs/run",
    ]  # fmt: skip


def test_without_early_stopping_the_optimized_metric_and_the_averaged_epochs(tmp_path):
    write_record(tmp_path, final_epoch=4, epochs_trained=4, averaged_epochs=[3, 4])
    lines = block_lines(tmp_path)
    assert lines["kept"].startswith(
        "epochs 3-4 averaged, ending at epoch 4 of 4: val/exact_match 0.9877, "
        "test/exact_match 0.9750"
    )
    assert lines["Finished"] == str(tmp_path)  # outside the working directory: as it is


def test_a_test_figure_not_measured_is_left_out(tmp_path):
    write_record(tmp_path, final_epoch=1, epochs_trained=1)
    metrics = {"val": {"exact_match": 0.5}, "test": {"exact_match": float("nan")}}
    assert block_lines(tmp_path, metrics=metrics)["kept"].startswith(
        "epoch 1 of 1: val/exact_match 0.5000 (every"
    )


@pytest.mark.parametrize("text", ["March 3, 2021", "it's", 'say "hi" $HOME', "a\\b [1]", "\\'x\\"])
def test_the_example_input_reaches_hydra_as_the_same_text(tmp_path, text):
    write_record(tmp_path)
    words = shlex.split(block_lines(tmp_path, example=text)["predict"])
    assert OverridesParser.create().parse_override(words[-1]).value() == text


def test_installed_commands_are_named_as_the_user_called_them():
    assert commands("/usr/bin/seq2seq-train") == {
        "train": "seq2seq-train",
        "evaluate": "seq2seq-evaluate",
        "predict": "seq2seq-predict",
    }
    assert commands("train.py")["train"] == "python train.py"
