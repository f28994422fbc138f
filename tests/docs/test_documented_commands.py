"""Every command README.md and docs/ show composes and validates as written, and every
error they show is the one the command prints: a documented command cannot drift from
the code. (The commands run for real, in a tiny form: `test_documented_runs.py`.)"""

import contextlib
import io
import re

import pytest
import yaml
from doc_runs import (
    TRAINED,
    ensemble_dirs_for,
    make_workspace,
    run_dir_for,
    run_script,
    same_command,
    shell,
    validated_train_configs,
    write_listed_runs,
)
from documented import commands_of, documented_commands, hydra_command_line, of_kind

from seq2seq import compose_config
from seq2seq.cli.runs import main as runs_main
from seq2seq.config.command_schema import (
    EvaluateConfig,
    ExportConfig,
    PredictConfig,
    ScoreConfig,
)
from seq2seq.config.constraints import check_fields

TRAIN = of_kind("train")
#: Train lines shown failing (with their `error: ...`), and those meant to work.
FAILING = [command for command in TRAIN if command.error]
WORKING = [command for command in TRAIN if not command.error]
COMMANDS = of_kind("evaluate", "predict", "score", "export")
SCHEMAS = {
    "evaluate": EvaluateConfig,
    "predict": PredictConfig,
    "score": ScoreConfig,
    "export": ExportConfig,
}
LISTINGS = of_kind("runs")


def ids(commands):
    """Test ids: each command's `FILE:LINE`."""
    return [command.where for command in commands]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A working directory with the files the docs assume (`my_pairs.tsv`, ...)."""
    return make_workspace(tmp_path_factory.mktemp("docs"))


def expected_pattern(line: str) -> str:
    """A regular expression for an error line the docs show: as written, but for the
    figures that depend on the machine (memory in GB, the largest value that fits)."""
    pattern = re.escape(line)
    pattern = re.sub(r"\d[\d,]*\\\.\d+(?=\\ GB)", r"[\\d,.]+", pattern)
    return re.sub(r"(?<=at\\ most\\ )\d[\d,]*", r"[\\d,]+", pattern)


def test_the_reader_splits_lines_as_the_shell_does(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```bash\n"
        "# a comment\n"
        "TF_CONFIG='{\"task\": 1}' \\\n"
        "  python train.py -m a=1,2 input=\"'x y'\"   # trailing\n"
        "seq2seq-predict run_dir=DIR\n"
        "make lint\n"
        "cd runs && python train.py\n"
        "```\n"
        "```\n"
        "$ python -m seq2seq.predict run_dir=DIR\n"
        "error: bad\n"
        "$ python -m seq2seq.predict input=\"'1 2\n"
        "3'\" run_dir=DIR\n"
        "2 1\n"
        "```\n"
    )
    train, predict, lint, chained, failing, two_lines = commands_of(doc)
    assert (train.where, train.kind, train.env) == (
        "doc.md:3",
        "train",
        {"TF_CONFIG": '{"task": 1}'},
    )
    assert train.args == ("-m", "a=1,2", "input='x y'") and train.value("a") == "1,2"
    assert hydra_command_line(train).multirun and hydra_command_line(train).overrides == (
        "a=1,2",
        "input='x y'",
    )
    assert (predict.kind, predict.args) == ("predict", ("run_dir=DIR",))
    assert (lint.kind, chained.kind) == ("shown", "unknown")
    assert (failing.kind, failing.error) == ("predict", ("error: bad",))
    assert two_lines.args == ("input='1 2\n3'", "run_dir=DIR") and two_lines.output == ("2 1",)


def test_only_the_machines_figures_of_an_error_may_differ():
    shown = "error: k=1: about 172.4 GB of memory, 23.2 GB available; allowed: at most 13,146 so"
    pattern = expected_pattern(shown)
    assert re.fullmatch(pattern, shown.replace("172.4", "1,017.0").replace("13,146", "7"))
    assert not re.fullmatch(pattern, shown.replace("k=1", "k=2"))


def test_the_docs_show_commands_of_every_kind():
    kinds = {command.kind for command in documented_commands()}
    assert {"train", "evaluate", "predict", "score", "modes", "runs"} <= kinds
    assert len(TRAIN) > 30 and len(FAILING) >= 5


def test_every_documented_command_is_one_the_tests_know():
    unknown = [str(command) for command in documented_commands() if command.kind == "unknown"]
    assert unknown == [], (
        "documented commands the tests do not check; map them in tests/docs/documented.py "
        f"(or list them in SHOWN_ONLY if they are only shown): {unknown}"
    )


def test_every_trained_command_is_documented():
    missing = [text for text in TRAINED if not any(same_command(c, text) for c in TRAIN)]
    assert missing == [], f"TRAINED names commands the docs no longer show: {missing}"


@pytest.mark.parametrize("command", WORKING, ids=ids(WORKING))
def test_a_documented_train_command_composes_and_validates(command, workspace):
    with shell(workspace, command.env):
        try:
            configs = validated_train_configs(command)
        except Exception as error:  # noqa: BLE001 - any failure is the line's, named
            raise AssertionError(f"{command}: {type(error).__name__}: {error}") from error
    assert configs, command
    if hydra_command_line(command).cfg is not None:
        # Hydra prints the composed config and runs nothing: run it for real.
        result = run_script("train", command.args, workspace, command.env)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert {"task", "model", "trainer"} <= set(yaml.safe_load(result.stdout)), result.stdout


@pytest.mark.parametrize("command", FAILING, ids=ids(FAILING))
def test_a_documented_error_is_the_one_the_command_prints(command, workspace, tmp_path):
    # Run where nothing is at stake: a command that wrongly succeeded would train there.
    result = run_script(
        "train", [*command.args, f"hydra.run.dir={tmp_path}/run"], workspace, command.env
    )
    assert result.returncode == 2, f"{command}: exit status {result.returncode}: {result.stderr}"
    printed = result.stderr.splitlines()
    assert len(printed) == len(command.error), f"{command}: printed {printed}"
    for shown, line in zip(command.error, printed, strict=True):
        assert re.fullmatch(expected_pattern(shown), line), f"{command}:\n{shown}\n{line}"


@pytest.mark.parametrize("command", COMMANDS, ids=ids(COMMANDS))
def test_a_documented_evaluate_predict_or_score_command_composes(command, workspace):
    run_dir_for(command)  # names a run the tests train
    ensemble_dirs_for(command)  # and so does its ensemble, if any
    with shell(workspace, command.env):
        try:
            cfg = compose_config(command.args, config_name=command.kind)
            check_fields(cfg, SCHEMAS[command.kind], prefix="")
        except Exception as error:  # noqa: BLE001 - any failure is the line's, named
            raise AssertionError(f"{command}: {type(error).__name__}: {error}") from error


@pytest.fixture(scope="module")
def listed_runs(tmp_path_factory):
    """A working directory with the runs the documented `seq2seq-runs` lines list."""
    return write_listed_runs(tmp_path_factory.mktemp("listed_runs"))


@pytest.mark.parametrize("command", LISTINGS, ids=ids(LISTINGS))
def test_a_documented_runs_command_prints_what_the_docs_show(command, listed_runs):
    out, err = io.StringIO(), io.StringIO()
    with shell(listed_runs, command.env), contextlib.redirect_stdout(out):
        with contextlib.redirect_stderr(err):
            try:
                status = runs_main(list(command.args))
            except SystemExit as stop:
                status = stop.code
    if command.error:
        assert status == 2, f"{command}: exit status {status}"
        assert err.getvalue().splitlines() == list(command.error), err.getvalue()
        return
    assert status == 0, f"{command}: exit status {status}: {err.getvalue()}"
    printed = out.getvalue().splitlines()
    assert len(printed) > 1, f"{command}: printed {printed}"  # a header and a run at least
    if command.output:
        assert printed == list(command.output), f"{command}: printed\n" + "\n".join(printed)
