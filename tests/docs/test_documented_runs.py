"""The documented commands run, in a tiny form: the training commands of `TRAINED` train
(an epoch of a small model), and every documented evaluate and predict line runs on their
runs, printing what the docs show it printing where that does not depend on how well
the model learned (its errors, the n-best layout, the LSTM modes)."""

from pathlib import Path

import pytest
from doc_runs import (
    TINY_RUN,
    TRAINED,
    call_main,
    ensemble_dirs_for,
    make_workspace,
    run_dir_for,
    run_dir_of_training,
    shell,
    train_in_process,
    validated_train_configs,
    with_run_dir,
)
from documented import of_kind, parse

pytestmark = pytest.mark.slow

DECODING = [command for command in of_kind("evaluate", "predict", "score") if not command.error]
FAILING = [command for command in of_kind("evaluate", "predict", "score") if command.error]
MODES = of_kind("modes")


def ids(commands):
    """Test ids: each command's `FILE:LINE`."""
    return [command.where for command in commands]


def tiny(text: str, workspace: Path) -> list:
    """A documented training command's arguments in a tiny form: `TINY_RUN` appended
    (a decoder as wide as the tiny encoder's states need), in a run directory of its own
    unless it names one."""
    command = parse("", text)
    with shell(workspace, command.env):
        (cfg,) = validated_train_configs(command)
    overrides = list(TINY_RUN)
    if cfg.model.bridge == "concat":
        overrides.append("model.decoder_units=32")
    elif cfg.model.decoder_units is not None:
        overrides.append("model.decoder_units=16")
    if command.value("hydra.run.dir") is None:
        overrides.append(f"hydra.run.dir={run_dir_of_training(text)}")
    return [*command.args, *overrides]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A working directory with the files the docs assume (`my_pairs.tsv`, ...)."""
    return make_workspace(tmp_path_factory.mktemp("docs_runs"))


@pytest.fixture(scope="module")
def trained(workspace):
    """`trained(text)` trains a command of `TRAINED` in its tiny form, once, and returns its
    exit status; the runs are shared by the module's tests."""
    statuses = {}

    def train(text: str) -> int:
        if text not in statuses:
            parent = parse("", text).value("trainer.init_from")
            for other in TRAINED:  # a fine-tuning line's parent first
                if parent is not None and run_dir_of_training(other) == parent:
                    assert train(other) == 0, f"{other}: the tiny run failed"
            statuses[text] = train_in_process(tiny(text, workspace), workspace)
        return statuses[text]

    return train


def finished(workspace: Path, text: str, trained) -> Path:
    """The run directory of a command of `TRAINED`, trained and finished."""
    assert trained(text) == 0, f"{text}: the tiny run failed"
    run_dir = workspace / run_dir_of_training(text)
    assert (run_dir / "metrics.json").is_file(), f"{text}: no metrics.json in {run_dir}"
    return run_dir


def run_for(command, workspace, trained) -> Path:
    """Trains the run an evaluate or predict line names, and those of its ensemble;
    returns the run's directory."""
    for member in ensemble_dirs_for(command):
        (text,) = [text for text in TRAINED if run_dir_of_training(text) == member]
        finished(workspace, text, trained)
    run_dir = run_dir_for(command)
    (text,) = [text for text in TRAINED if run_dir_of_training(text) == run_dir]
    return finished(workspace, text, trained)


@pytest.mark.parametrize("text", TRAINED)
def test_a_documented_train_command_trains(text, workspace, trained):
    finished(workspace, text, trained)


@pytest.mark.parametrize("command", DECODING, ids=ids(DECODING))
def test_a_documented_evaluate_or_predict_command_runs(command, workspace, trained):
    run_for(command, workspace, trained)
    status, out, err = call_main(command.kind, with_run_dir(command), workspace)
    assert status == 0, f"{command}: exit status {status}: {err}"
    if command.kind == "evaluate":
        assert "written: " in out, out
    elif command.kind == "score":
        # A TSV line per pair, in order: source, target, log-probability, tokens (, per token).
        pairs = (workspace / command.value("input_file")).read_text().splitlines()
        path = command.value("output_file")
        lines = (workspace / path).read_text().splitlines() if path else out.splitlines()
        assert [line.split("\t")[:2] for line in lines] == [p.split("\t") for p in pairs], lines
    elif command.value("output_file"):
        assert (workspace / command.value("output_file")).is_file()
    else:
        # n_best outputs a line of input (a tiny model's may be empty); the docs' figures
        # and texts are a trained model's.
        if command.value("input") is not None:
            lines = command.value("input").split("\n")
        else:
            lines = (workspace / command.value("input_file")).read_text().splitlines()
        n_best = int(command.value("decoding.n_best") or 1)
        assert len(out.splitlines()) == n_best * len(lines), f"{command}: printed {out!r}"
    if int(command.value("decoding.n_best") or 1) > 1:
        # n-best lines: input number, rank, log-probability, text: the layout the docs show.
        layout = [line.split("\t")[:2] for line in command.output]
        assert [line.split("\t")[:2] for line in out.splitlines()] == layout, out


@pytest.mark.parametrize("command", FAILING, ids=ids(FAILING))
def test_a_documented_decoding_error_is_the_one_the_command_prints(command, workspace, trained):
    run_dir = run_for(command, workspace, trained)
    status, out, err = call_main(command.kind, with_run_dir(command), workspace)
    assert status == 2, f"{command}: exit status {status}: {err}"
    shown = [line.replace("DIR", str(run_dir)) for line in command.error]
    assert err.splitlines() == shown, f"{command}: printed {err}"


@pytest.mark.parametrize("command", MODES, ids=ids(MODES))
def test_the_documented_lstm_modes_are_what_the_command_prints(command, workspace):
    status, out, err = call_main("modes", list(command.args), workspace)
    assert status == 0, err
    assert out.splitlines() == list(command.output), out
