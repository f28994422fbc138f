"""A trained run: it converged; evaluate, predict and export work on it."""

import json
import shutil
import subprocess
import sys

import forked
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import ROOT, error_lines
from seq2seq import compose_config, decode, evaluate, greedy_decode, load_run, predict
from seq2seq.data import generated
from seq2seq.data.load import load_task_data
from seq2seq.decoding import length_bound
from seq2seq.serving.evaluate_run import evaluate_run
from seq2seq.text.vocabulary import EOS_ID

pytestmark = pytest.mark.slow  # they share the `trained_run` fixture (~15 s of training)


def test_learns_reversal_on_a_small_setting(trained_run):
    """A real convergence test: the shared run reaches high held-out exact-match."""
    _, metrics = trained_run
    assert metrics["test"]["exact_match"] >= 0.95, metrics
    assert metrics["val"]["exact_match"] >= 0.95, metrics


def run_module(module, *args, timeout=300):
    return forked.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- evaluate -------------------------------------------------------------------------


def test_evaluate_command_prints_the_table_and_saves_json_and_tensorboard(trained_run):
    run_dir, metrics = trained_run
    result = run_module("seq2seq.evaluate", f"run_dir={run_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "test by target length:" in out and "longer 7..11 by target length:" in out
    report = json.loads((run_dir / "evaluation" / "test-greedy-longer7-11x1000.json").read_text())
    split = report["split"]
    # The same model, split and greedy decoding as at the end of training.
    assert np.isclose(split["exact_match"], metrics["test"]["exact_match"])
    assert np.isclose(split["loss"], metrics["test"]["loss"], rtol=1e-4)
    assert set(split["exact_match_by_length"]) == {str(n) for n in range(2, 7)}
    assert {"token_error_rate", "bleu", "chrf"} <= set(split)
    assert set(split["by_length"]["4"]) == {
        "sequences",
        "exact_match",
        "exact_match_any",
        "truncated",
        "token_error_rate",
        "token_error_rate_any",
        "bleu",
        "chrf",
    }
    assert split["truncated"] == metrics["test"]["truncated"]
    assert report["length_bound"]["origin"] == "training data"
    assert "length bound: ceil(" in out and "truncated" in out
    assert np.isclose(split["bleu"], metrics["test"]["bleu"])
    assert "test by target length:" in out and "error rate" in out and "BLEU" in out
    longer = report["length_generalization"]
    assert (longer["min_len"], longer["max_len"], longer["size"]) == (7, 11, 1000)
    assert set(longer["exact_match_by_length"]) == {str(n) for n in range(7, 12)}
    events = EventAccumulator(str(run_dir / "tensorboard" / "evaluation"))
    events.Reload()
    tags = events.Tags()["tensors"]
    assert "evaluate/greedy/test/exact_match" in tags
    assert "evaluate/greedy/longer/exact_match_by_length/011" in tags
    assert "evaluate/test-greedy-longer7-11x1000" in tags  # the table, as text


def test_exact_match_by_length_averages_to_the_whole(trained_run):
    run_dir, _ = trained_run
    cfg = compose_config([f"run_dir={run_dir}", "split=val"], config_name="evaluate")
    report = evaluate_run(cfg)["split"]
    run = load_run(run_dir)
    val = load_task_data(run.config.task, run.config.seed, run.config.data_dir)[0].val
    counts = {int(n): int(c) for n, c in zip(*np.unique(val.target_lengths, return_counts=True))}
    weighted = sum(report["exact_match_by_length"][n] * c for n, c in counts.items()) / len(val)
    assert np.isclose(weighted, report["exact_match"])


def test_longer_split_is_beyond_the_training_lengths_and_reversed():
    task = compose_config(["task.max_source_symbols=6"]).task
    split = generated.generate_longer(task, seed=0, size=300, min_len=7, max_len=9)
    lengths = (split.source_ids != 0).sum(axis=1)
    assert lengths.min() == 7 and lengths.max() == 9
    np.testing.assert_array_equal(split.target_ids, generated.reverse_targets(split.source_ids))
    again = generated.generate_longer(task, seed=0, size=300, min_len=7, max_len=9)
    np.testing.assert_array_equal(split.source_ids, again.source_ids)


def test_evaluate_with_beam_search_writes_its_own_file(trained_run, capsys):
    run_dir, _ = trained_run
    status = evaluate.main(
        [f"run_dir={run_dir}", "decoding=beam", "decoding.beam_size=3", "eval.size=200"]
    )
    assert status == 0
    report = json.loads((run_dir / "evaluation" / "test-beam3-lp0-longer7-11x200.json").read_text())
    assert report["decoding"]["strategy"] == "beam"
    assert report["split"]["exact_match"] >= 0.9


@pytest.mark.parametrize(
    "args,expected",
    [
        (["split=train"], "error: split='train': allowed: val, test"),
        (
            ["eval.min_source_symbols=5"],
            "error: eval.min_source_symbols=5: must be > the run's task.max_source_symbols (6)",
        ),
        (
            ["decoding=beam", "decoding.beam_size=0"],
            "error: decoding.beam_size=0: must be an integer >= 1",
        ),
        (
            ["decoding.strategy=topp"],
            "error: decoding.strategy='topp': allowed: greedy, beam, sample",
        ),
    ],
)
def test_evaluate_refuses_bad_arguments_in_one_line(trained_run, args, expected, capsys):
    run_dir, _ = trained_run
    assert_one_line_error(evaluate.main, [f"run_dir={run_dir}", *args], expected, capsys)


def test_decoding_max_len_replaces_the_bound_and_counts_what_it_cuts(trained_run, capsys):
    run_dir, _ = trained_run
    assert evaluate.main([f"run_dir={run_dir}", "decoding.max_tokens=3", "eval.size=100"]) == 0
    report = json.loads(
        (run_dir / "evaluation" / "test-greedy-max3-longer7-11x100.json").read_text()
    )
    split = report["split"]
    assert report["length_bound"]["origin"] == "decoding.max_tokens"
    # Three tokens hold a target of 2 and its EOS, nothing longer: every longer one is cut.
    by_length = split["by_length"]
    assert by_length["2"]["truncated"] == 0 and by_length["2"]["exact_match"] > 0.9
    assert all(by_length[n]["truncated"] == by_length[n]["sequences"] for n in ("4", "5", "6"))
    assert split["truncated"] >= sum(by_length[n]["sequences"] for n in ("4", "5", "6"))
    assert report["length_generalization"]["truncated"] == 100


def assert_one_line_error(main, args, expected, capsys):
    """`main(args)` exits with status 2 after one stderr line starting with `expected`."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(expected) and "\n" not in err, err


def test_evaluate_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    with pytest.raises(SystemExit):
        evaluate.main([f"run_dir={tmp_path}"])
    assert "no finished run there (config.yaml is missing)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main([])
    assert "error: run_dir: required" in capsys.readouterr().err


# --- predict --------------------------------------------------------------------------


def test_predict_command_reverses_the_input(trained_run):
    run_dir, _ = trained_run
    result = run_module("seq2seq.predict", f"run_dir={run_dir}", "input=3 1 4 1 5")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "5 1 4 1 3"


def test_a_run_saved_before_length_bounds_decodes_to_the_old_default_and_says_so(
    trained_run, tmp_path
):
    run_dir, _ = trained_run
    old = tmp_path / "old_run"
    shutil.copytree(run_dir, old, ignore=shutil.ignore_patterns("evaluation", "tensorboard"))
    (old / "length_bound.json").unlink()
    result = run_module("seq2seq.predict", f"run_dir={old}", "input=3 1 4 1 5")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "5 1 4 1 3"
    assert error_lines(result.stderr) == [
        f"warning: {old} has no length_bound.json (a run saved before length bounds were): "
        "decoding up to twice the source plus two tokens; set decoding.max_tokens=N to choose"
    ]


def test_predict_reads_a_file_one_sequence_per_line(trained_run, tmp_path, capsys):
    run_dir, _ = trained_run
    path = tmp_path / "inputs.txt"
    path.write_text("0 1 2\n5 4 3 2 1 0\n2 2\n")
    assert predict.main([f"run_dir={run_dir}", f"input_file={path}"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2 1 0", "0 1 2 3 4 5", "2 2"]


@pytest.mark.parametrize("decoding", [["decoding=beam"], ["decoding=sample", "decoding.top_k=1"]])
def test_predict_with_other_strategies(trained_run, decoding, capsys):
    run_dir, _ = trained_run
    assert predict.main([f"run_dir={run_dir}", "input=1 2 3 4", *decoding]) == 0
    assert capsys.readouterr().out.strip() == "4 3 2 1"


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["input=3 1 9 1"],
            "error: input line 1, position 3: '9' is not a symbol of the vocabulary; allowed: the numbers 0 .. 5",
        ),
        (["input=3 1 x"], "error: input line 1, position 3: 'x' is not a symbol"),
        (["input= "], "error: input line 1 is empty"),
        (["input=1 2 3 4 5 0 1"], "error: input line 1 has 7 symbols; the model takes at most 6"),
        ([], "error: input=null: give exactly one of"),
        (
            ["input_file=/nonexistent/in.txt"],
            "error: input_file='/nonexistent/in.txt': no such file",
        ),
    ],
)
def test_predict_refuses_bad_input_naming_token_and_position(trained_run, args, expected, capsys):
    run_dir, _ = trained_run
    assert_one_line_error(predict.main, [f"run_dir={run_dir}", *args], expected, capsys)


def test_predict_bad_token_in_a_file_names_the_file_and_line(trained_run, tmp_path):
    run_dir, _ = trained_run
    path = tmp_path / "in.txt"
    path.write_text("1 2\n3 4 five\n")
    result = run_module("seq2seq.predict", f"run_dir={run_dir}", f"input_file={path}")
    lines = error_lines(result.stderr)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines == [
        f"error: {path} line 2, position 3: 'five' is not a symbol of the vocabulary; allowed: the numbers 0 .. 5"
    ]


def test_max_input_len_lets_a_longer_sequence_through(trained_run, capsys):
    run_dir, _ = trained_run
    assert predict.main([f"run_dir={run_dir}", "input=1 2 3 4 5 0 1", "max_input_symbols=7"]) == 0
    printed = capsys.readouterr().out.strip()
    # What the model decodes for the 7 symbols (ids 4 5 6 7 8 3 4), up to the run's bound
    # for 7 (fitted to training sources of 2 to 6: it extrapolates), read back as symbols.
    run = load_run(run_dir)
    decoded, _ = length_bound.bounded(
        lambda ids, max_len: greedy_decode(run.model, ids, max_len),
        tf.constant([[4, 5, 6, 7, 8, 3, 4]], tf.int32), run.bound,
    )  # fmt: skip
    assert decoded.shape[1] == run.bound.rows([7])[0] > 8
    assert printed == run.vocabs.target.decode_text(decoded.numpy()[0])


# --- export ---------------------------------------------------------------------------

SERVE = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1])
ids = tf.constant(json.loads(sys.argv[2]), tf.int32)
out = served.signatures["serve"](symbol_ids=ids)["symbol_ids"].numpy().tolist()
assert not any(name.split(".")[0] == "seq2seq" for name in sys.modules)
print(json.dumps(out))
"""


def test_saved_model_serves_greedy_decoding_without_the_package(trained_run, tmp_path):
    run_dir, _ = trained_run
    inputs = [[3, 1, 4, 1, 5], [2, 0, -1, -1, -1], [5, 4, 3, 2, 1]]
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(run_dir / "saved_model" / "1"), json.dumps(inputs)],
        cwd=tmp_path,  # not the repository: `seq2seq` is importable only if installed
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout)
    assert [row[: row.index(-1)] for row in served] == [[5, 1, 4, 1, 3], [0, 2], [1, 2, 3, 4, 5]]
    # Padded with -1 after the end, as wide as the run's bound for 5 symbols.
    assert all(len(row) == load_run(run_dir).bound.rows([5])[0] for row in served)


def test_reloaded_model_decodes_as_before_saving(trained_run, tmp_path):
    run_dir, _ = trained_run
    model = load_run(run_dir).model
    source = tf.constant([[4, 6, 7, 8, 0, 0], [3, 3, 5, 6, 8, 8]], tf.int32)
    before = greedy_decode(model, source, 8).numpy()
    beam_before = decode(model, source, 8, "beam", beam_size=3, alpha=0.0).numpy()
    model.save(tmp_path / "again.keras")
    reloaded = keras.saving.load_model(tmp_path / "again.keras")
    np.testing.assert_array_equal(greedy_decode(reloaded, source, 8), before)
    np.testing.assert_array_equal(
        decode(reloaded, source, 8, "beam", beam_size=3, alpha=0.0), beam_before
    )
    assert np.all((before == EOS_ID).sum(axis=1) == 1)


def test_a_loaded_run_is_not_compiled(trained_run):
    # model.keras holds the training's optimizer, loss and metrics; no command trains what
    # it loads, so none of them is rebuilt (seq2seq/serving/finished_run.py).
    run_dir, _ = trained_run
    assert keras.saving.load_model(run_dir / "model.keras").compiled
    model = load_run(run_dir).model
    assert not model.compiled and getattr(model, "optimizer", None) is None
