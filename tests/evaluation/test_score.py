"""`python -m seq2seq.score`: each pair's teacher-forced log-probability, checked against
the model's own logits in numpy, against greedy outputs on a trained run, through the
command line, and its refusals of bad input."""

import json
import sys

import forked
import keras
import numpy as np
import pytest

from conftest import ROOT, write_pairs
from seq2seq import build_model, compose_config
from seq2seq.cli import commands, imports
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.evaluation.scoring import score_pairs
from seq2seq.serving.finished_run import load_run
from seq2seq.text.vocabulary import BOS_ID, EOS_ID

SOURCES = [[3, 4, 5], [6, 7, 8, 9, 10, 11], [4]]
TARGETS = [[5, 4, 3], [11, 10], [4, 4, 4, 4, 4]]


def numpy_scores(model, source, target) -> np.ndarray:
    """The pair alone, unpadded: log_softmax of the model's logits at target + EOS."""
    logits = model(
        {
            "encoder_token_ids": np.asarray([source], np.int32),
            "decoder_token_ids": np.asarray([[BOS_ID, *target]], np.int32),
        },
        training=False,
    )
    logits = np.asarray(logits, np.float64)[0]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    labels = [*target, EOS_ID]
    return log_softmax[np.arange(len(labels)), labels]


@pytest.mark.parametrize("family", [[], ["model=attention"]])  # attention masks the padding
def test_a_score_is_the_sum_of_log_softmax_at_the_target_tokens(family):
    keras.utils.set_random_seed(0)
    model = build_model(
        compose_config(["model.units=16", "model.embedding_dim=8", *family]).model, 12
    )
    scored = score_pairs(model, SOURCES, TARGETS, batch_size=2)  # padded batches of 2 and 1
    assert [len(s) for s in scored] == [len(t) + 1 for t in TARGETS]  # EOS included
    for source, target, token_scores in zip(SOURCES, TARGETS, scored):
        expected = numpy_scores(model, source, target)
        np.testing.assert_allclose(token_scores, expected, atol=1e-5)
        assert abs(token_scores.sum() - expected.sum()) < 1e-4


def test_score_pairs_refuses_lists_that_do_not_pair_up():
    with pytest.raises(ValueError, match="must pair up"):
        score_pairs(None, SOURCES, TARGETS[:2], batch_size=2)


def fake_run(directory):
    """A directory that passes the checks before the model loads (a finished run's files)."""
    directory.mkdir()
    (directory / "config.yaml").write_text("task: {name: reverse}\ntrainer: {epochs: 1}\n")
    (directory / "model.keras").write_text("")
    (directory / "vocab.json").write_text(json.dumps({"symbols": ["0", "1"]}))
    (directory / "metrics.json").write_text("{}")
    return directory


def refused(capsys, *args) -> str:
    """The one line `score` prints on stderr as it exits with status 2."""
    from seq2seq import score

    with pytest.raises(SystemExit) as exit_info:
        score.main(list(args))
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err, err
    return err


def test_bad_arguments_are_refused_in_one_line_before_the_model_loads(tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("0 1\t1 0\n")
    assert refused(capsys, f"input_file={pairs}") == (
        "error: run_dir: required: the directory of a finished run (run_dir=DIR)"
    )
    assert refused(capsys, f"run_dir={run}") == (
        "error: input_file=null: required: a file of source<TAB>target pairs (input_file=PATH)"
    )
    missing = refused(capsys, f"run_dir={run}", f"input_file={tmp_path}/none.tsv")
    assert missing.startswith("error: input_file=") and missing.endswith("none.tsv': no such file")
    inside = refused(capsys, f"run_dir={run}", f"input_file={pairs}", f"output_file={run}/s.tsv")
    assert inside.startswith("error: output_file=") and "s.tsv': is inside run_dir=" in inside
    same = refused(capsys, f"run_dir={run}", f"input_file={pairs}", f"output_file={pairs}")
    assert same.startswith("error: output_file=") and "pairs.tsv': is the input file" in same
    assert refused(capsys, f"run_dir={run}", f"input_file={pairs}", "batch_size=0").startswith(
        "error: batch_size=0: must be an integer in [1, 1000000]"
    )
    assert refused(capsys, f"run_dir={run}", f"input_file={pairs}", "on_unknown=skip") == (
        "error: on_unknown='skip': allowed: warn, error"
    )
    # Nothing is decoded: a decoding key is no key of this command.
    assert "decoding" in refused(capsys, f"run_dir={run}", f"input_file={pairs}", "decoding=beam")


def test_the_console_script_answers_version_first(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["seq2seq-score", "--version"])
    # The console script starts a command's process; this one is the test's, and stays one.
    monkeypatch.setattr(imports, "_freeze_imports", False)
    monkeypatch.setattr(imports, "filter_tensorflow_noise", lambda: None)
    with pytest.raises(SystemExit) as exit_info:
        commands.score()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("seq2seq ")


# --- on trained runs --------------------------------------------------------------------


def score_lines(capsys, *args) -> list:
    from seq2seq import score

    assert score.main(list(args)) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.slow
def test_greedy_outputs_score_at_least_as_well_as_a_corrupted_target(trained_run):
    run_dir, _ = trained_run
    run = load_run(run_dir)
    rng = np.random.default_rng(0)
    sources = [list(rng.integers(3, 9, size=n)) for n in rng.integers(2, 7, size=40)]
    decoding = compose_config(["run_dir=x", "input=1"], config_name="predict").decoding
    greedy = [
        [int(i) for i in h[0][0] if i != EOS_ID]
        for h in decode_sequences(run.model, sources, decoding, 16, run.decoding_bound())
    ]
    corrupted = []
    for target in greedy:
        changed = list(target)
        position = int(rng.integers(len(changed)))
        changed[position] = 3 + (changed[position] - 3 + 1 + int(rng.integers(5))) % 6
        corrupted.append(changed)
    best = [s.sum() for s in score_pairs(run.model, sources, greedy, batch_size=16)]
    worse = [s.sum() for s in score_pairs(run.model, sources, corrupted, batch_size=16)]
    assert all(b >= w for b, w in zip(best, worse)), list(zip(best, worse))
    assert np.mean(best) > np.mean(worse) + 1.0


@pytest.mark.slow
def test_the_command_writes_one_line_per_pair_in_order(trained_run, tmp_path, capsys):
    run_dir, _ = trained_run
    pairs = [("3 1 4", "4 1 3"), ("2 5 1 5", "5 1 5 2"), ("3 1 4", "3 1 4"), ("0 1", "1 0")]
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs))
    lines = score_lines(
        capsys, f"run_dir={run_dir}", f"input_file={path}", "per_token=true", "batch_size=3"
    )
    assert len(lines) == len(pairs)
    for (source, target), line in zip(pairs, lines):
        got_source, got_target, total, tokens, per_token = line.split("\t")
        assert (got_source, got_target) == (source, target)
        values = [float(v) for v in per_token.split()]
        assert int(tokens) == len(target.split()) + 1 == len(values)
        assert abs(sum(values) - float(total)) <= 1e-4 * (len(values) + 1)
    totals = [float(line.split("\t")[2]) for line in lines]
    assert totals[0] > totals[2]  # the reversal beats the copy
    plain = score_lines(capsys, f"run_dir={run_dir}", f"input_file={path}")
    assert [line.split("\t") for line in plain] == [line.split("\t")[:4] for line in lines]
    out = tmp_path / "scores.tsv"
    assert (
        score_lines(capsys, f"run_dir={run_dir}", f"input_file={path}", f"output_file={out}") == []
    )
    assert out.read_text().splitlines() == plain


@pytest.mark.slow
def test_bad_pairs_are_refused_in_one_line(trained_run, tmp_path, capsys):
    run_dir, _ = trained_run
    path = tmp_path / "pairs.tsv"
    path.write_text("3 1 4\t4 1 3\n2 5\t5 12\n")
    assert refused(capsys, f"run_dir={run_dir}", f"input_file={path}") == (
        f"error: {path} line 2, target position 2: '12' is not a symbol of the vocabulary; "
        "allowed: the numbers 0 .. 5"
    )
    path.write_text("3 1 4 4 1 3\n")
    no_tab = refused(capsys, f"run_dir={run_dir}", f"input_file={path}")
    assert no_tab.startswith(f"error: {path}:1: the line has no tab")
    # score has no on_bad_line key to suggest (task.on_bad_line would be refused).
    assert no_tab.endswith(
        "(fix or delete that line: every line of input_file is read, none is skipped)"
    )


@pytest.mark.slow
def test_a_symbol_outside_a_data_vocabulary_reads_as_unk_or_is_refused(tiny_cfg, tmp_path, capsys):
    import seq2seq

    data = write_pairs(tmp_path / "train.tsv", 300)
    run_dir = tmp_path / "run"
    seq2seq.train(
        tiny_cfg("task=tsv", f"task.path={data}", "task.val_size=20", "task.test_size=20"),
        run_dir=str(run_dir),
    )
    capsys.readouterr()  # what training printed
    path = tmp_path / "pairs.tsv"
    path.write_text("a b c d\td c b a\na b z d\td z b a\n")
    from seq2seq import score

    assert score.main([f"run_dir={run_dir}", f"input_file={path}"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert f"warning: {path} line 2: 'z' not in the vocabulary, read as <unk>" in captured.err
    assert "1 of 2 inputs hold symbols the vocabulary lacks (2 in all)" in captured.err
    strict = refused(capsys, f"run_dir={run_dir}", f"input_file={path}", "on_unknown=error")
    assert strict.startswith(f"error: {path} line 2, source position 3: 'z' is not a symbol")


@pytest.mark.slow
def test_the_module_runs_as_a_command(trained_run, tmp_path):
    run_dir, _ = trained_run
    path = tmp_path / "pairs.tsv"
    path.write_text("3 1 4\t4 1 3\n")
    result = forked.run(
        [sys.executable, "-m", "seq2seq.score", f"run_dir={run_dir}", f"input_file={path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    source, target, total, tokens = result.stdout.strip().split("\t")
    assert (source, target, tokens) == ("3 1 4", "4 1 3", "4") and float(total) <= 0
