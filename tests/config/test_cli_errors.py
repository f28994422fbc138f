"""`python train.py`, `evaluate` and `predict` refuse bad input at once: one line, non-zero
exit, no traceback, and nothing already saved is lost."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, error_lines, imported_modules, run_script
from seq2seq import compose_config


@pytest.mark.parametrize(
    "override,expected",
    [
        ("model.units=0", "error: model.units=0: must be an integer >= 1"),
        ("task.vocab_size=abc", "error: task.vocab_size='abc': expected an integer"),
        ("task.foo=1", "error: task.foo: no such key"),
        (
            "task.min_source_symbols=11",
            "error: task.max_source_symbols=10: must be >= task.min_source_symbols (11)",
        ),
        (
            "model=nope",
            "error: model='nope': no such option; allowed: attention, lstm, repeat_vector",
        ),
        (  # Hydra's grammar refuses ~, and would not expand it: say what to type
            "task.path=~/x.tsv",
            "error: cannot parse override 'task.path=~/x.tsv': Hydra does not expand ~ in "
            f"'~/x.tsv'; write the path without it (task.path={Path.home()}/x.tsv)",
        ),
    ],
)
def test_bad_config_fails_fast_with_one_line(override, expected, tmp_path):
    result = run_script(
        "train.py", override, f"hydra.run.dir={tmp_path}/run", timeout=60, import_times=True
    )
    lines = error_lines(result.stderr)
    assert result.returncode == 2
    assert lines == [lines[0]] and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr
    # The config is checked before TensorFlow is imported (which alone takes seconds).
    assert "seq2seq" in imported_modules(result.stderr)
    assert not {"tensorflow", "keras"} & imported_modules(result.stderr)


@pytest.mark.parametrize(
    "file, text, option, expected",
    [
        (  # Hydra would put its keys under `experiment`, which no schema has
            "experiment/mine.yaml", "model:\n  units: 16\n", "experiment=mine",
            "error: experiment=mine: experiment/mine.yaml sets keys of the whole config but "
            "lacks Hydra's header; add `# @package _global_` as its first line",
        ),
        (
            "experiment/mine.yaml", "# @package _global_\nmodel:\n  units: [16\n", "experiment=mine",
            "error: {dir}/experiment/mine.yaml:4: not valid YAML: expected ',' or ']', but got "
            "'<stream end>' (while parsing a flow sequence at line 3)",
        ),
        (
            "model/mine.yaml", "name: lstm\n  units: : 16\n", "model=mine",
            "error: {dir}/model/mine.yaml:2: not valid YAML: mapping values are not allowed here",
        ),
    ],
)  # fmt: skip
def test_a_config_file_hydra_cannot_use_is_named_in_one_line(
    tmp_path, file, text, option, expected
):
    (tmp_path / file).parent.mkdir()
    (tmp_path / file).write_text(text)
    result = run_script(
        "train.py", "--config-dir", str(tmp_path), option, f"hydra.run.dir={tmp_path}/run",
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [expected.format(dir=tmp_path)], result.stderr


def test_config_package_does_not_import_tensorflow():
    code = (
        "import sys, seq2seq\n"
        "seq2seq.validate(seq2seq.compose_config())\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_an_override_the_grammar_refuses_says_to_quote_it(tmp_path):
    result = run_script("train.py", "task.path=a~b", f"hydra.run.dir={tmp_path}/run", timeout=60)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "error: cannot parse override 'task.path=a~b': LexerNoViableAltException: task.path=a~b; "
        "a value with characters of Hydra's grammar must be quoted: \"task.path='a~b'\" on a "
        "shell's command line"
    ]


# --- evaluate and predict, on a run whose model is never loaded ------------------------------


def fake_run(root: Path) -> Path:
    """A directory that passes for a finished run until its model is loaded (it cannot be):
    a refusal from it comes before anything heavy is read, or written."""
    run = root / "run"
    run.mkdir()
    (run / "config.yaml").write_text(OmegaConf.to_yaml(compose_config([]), resolve=True))
    (run / "vocab.json").write_text('{"symbols": ["0", "1"], "tokenizer": "space"}')
    (run / "metrics.json").write_text('{"test": {"exact_match": 1.0}}')
    (run / "model.keras").write_bytes(b"not a model")
    return run


def refusal(main, args, capsys) -> str:
    """The one line `main(args)` prints before exiting with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err, err
    return err


@pytest.mark.parametrize(
    "target", ["vocab.json", "metrics.json", "link/config.yaml", "../run/new.txt", "input"]
)
def test_predict_refuses_an_output_file_that_is_a_file_of_the_run_or_the_input(
    target, tmp_path, capsys
):
    from seq2seq import predict

    run = fake_run(tmp_path)
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("0 1\n")
    (tmp_path / "link").symlink_to(run)  # a symbolic link into the run directory
    (run / "sub").mkdir()
    output = {"input": inputs, "../run/new.txt": run / "sub" / "../../run/new.txt"}.get(
        target, tmp_path / target if target.startswith("link") else run / target
    )
    before = {path: path.read_bytes() for path in [*run.iterdir(), inputs] if path.is_file()}
    err = refusal(
        predict.main, [f"run_dir={run}", f"input_file={inputs}", f"output_file={output}"], capsys
    )
    expected = "is the input file" if target == "input" else f"is inside run_dir={str(run)!r}"
    assert err.startswith(f"error: output_file={str(output)!r}: {expected}"), err
    after = {path: path.read_bytes() for path in [*run.iterdir(), inputs] if path.is_file()}
    assert after == before  # nothing written, nothing replaced


def test_predict_names_the_users_path_when_its_directory_takes_no_file(tmp_path, capsys):
    from seq2seq import predict

    run = fake_run(tmp_path)
    err = refusal(
        predict.main, [f"run_dir={run}", "input=0 1", "output_file=/proc/out.txt"], capsys
    )
    assert err.startswith("error: output_file='/proc/out.txt': cannot be written in /proc")
    assert ".tmp-" not in err


@pytest.mark.parametrize("damage", ["", "{not json", "[1, 2]", "\xff\xfe"])
def test_evaluate_and_predict_refuse_a_damaged_metrics_json(damage, tmp_path, capsys):
    from seq2seq import evaluate, predict

    run = fake_run(tmp_path)
    (run / "metrics.json").write_bytes(damage.encode("latin-1"))
    for main, args in ((evaluate.main, []), (predict.main, ["input=0 1"])):
        err = refusal(main, [f"run_dir={run}", *args], capsys)
        assert err.startswith(
            f"error: run_dir={str(run)!r}: metrics.json is damaged and cannot be read ("
        ), err


def test_predict_and_evaluate_say_what_a_path_is_that_is_no_file(tmp_path, capsys):
    from seq2seq import evaluate, predict

    run = fake_run(tmp_path)
    fifo = tmp_path / "inputs.fifo"
    os.mkfifo(fifo)  # opening it would wait for a writer: it must not be opened
    err = refusal(predict.main, [f"run_dir={run}", f"input_file={fifo}"], capsys)
    assert (
        err == f"error: input_file={str(fifo)!r}: is not a regular file (a FIFO); allowed: a file"
    )
    err = refusal(evaluate.main, [f"run_dir={run}", f"eval.file={tmp_path}"], capsys)
    assert err == f"error: eval.file={str(tmp_path)!r}: is a directory; allowed: a file"
