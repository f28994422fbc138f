"""One decoded output everywhere (issue 20, point 3): on a task whose targets are much
longer than their sources, a two-letter source to itself six times, `evaluate`,
metrics.json, `predict` and `serve_text` decode the same outputs, to the length bound the
run fitted to its training data, and their figures are those of the strings `predict`
prints. Decoding to the old bound (twice the source plus two tokens) cuts every output
short, and each command says so."""

import itertools
import json
import string
import subprocess
import sys

import pytest
import sacrebleu

import seq2seq
from conftest import saved_model_export
from seq2seq import compose_config, evaluate, predict
from seq2seq.evaluation import text_metrics

pytestmark = pytest.mark.slow  # trains an attention model until it is good (~20 s)


def expanding_pairs(path):
    """676 pairs: each two-letter source to itself repeated six times (12 characters)."""
    sources = ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=2)]
    path.write_text("".join(f"{s}\t{s * 6}\n" for s in sources))
    return path


@pytest.fixture(scope="module")
def expanding_run(tmp_path_factory):
    """An attention model on character vocabularies, trained until early stopping."""
    root = tmp_path_factory.mktemp("expanding")
    cfg = compose_config(["task=tsv", f"task.path={expanding_pairs(root / 'pairs.tsv')}",
                          "task.tokenizer=char", "task.val_size=60", "task.test_size=60",
                          "model=attention", "model.units=64", "model.embedding_dim=32",
                          "trainer.batch_size=32", "trainer.epochs=30",
                          "trainer.early_stopping.monitor=val/exact_match",
                          "trainer.early_stopping.patience=3", "trainer.precision=float32",
                          "logging.images=false", "logging.samples=0", "logging.histogram_freq=0",
                          f"data_dir={root}"])  # fmt: skip
    with saved_model_export():
        metrics = seq2seq.train(cfg, run_dir=str(root / "run"))
    return root / "run", metrics


def held_out_test(run_dir):
    pairs = [
        line.split("\t") for line in (run_dir / "held_out" / "test.tsv").read_text().splitlines()
    ]
    return [s for s, _ in pairs], [t for _, t in pairs]


def predict_lines(run_dir, sources, tmp_path, capsys, *args):
    """What `predict` writes for `sources`, and what it says on stderr."""
    inputs, out = tmp_path / "inputs.txt", tmp_path / "out.txt"
    inputs.write_text("".join(f"{s}\n" for s in sources))
    assert (
        predict.main([f"run_dir={run_dir}", f"input_file={inputs}", f"output_file={out}", *args])
        == 0
    )
    return out.read_text().splitlines(), capsys.readouterr().err


SERVE_TEXT = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["serve_text"]
out = served(text=tf.constant(json.loads(sys.argv[2])))
assert "seq2seq" not in sys.modules
print(json.dumps({"text": [t.decode() for t in out["text"].numpy().tolist()],
                  "truncated": out["truncated"].numpy().tolist()}))
"""


def test_evaluate_metrics_predict_and_serve_text_give_the_same_outputs(
    expanding_run, tmp_path, capsys
):
    run_dir, metrics = expanding_run
    sources, references = held_out_test(run_dir)
    bound = seq2seq.load_run(run_dir).bound
    assert bound.rows([2]).tolist() == [17]  # ratio 6 (slope 6.6), + 2 + EOS: 12 fits

    lines, stderr = predict_lines(run_dir, sources, tmp_path, capsys)
    share = sum(h == r for h, r in zip(lines, references)) / len(references)
    assert share >= 0.85, (share, metrics)  # a good model: the task is learned
    assert "length bound" not in stderr  # nothing was cut short
    assert metrics["test"]["exact_match"] == pytest.approx(share)
    assert metrics["test"]["truncated"] == 0
    # BLEU (0 here: a 12-character word has no 4-gram of words), chrF and the error rate
    # are sacrebleu's and the edit distance's on exactly the lines predict wrote.
    assert metrics["test"]["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(lines, [references]).score
    )
    assert metrics["test"]["chrf"] == pytest.approx(
        sacrebleu.corpus_chrf(lines, [references]).score
    )
    assert metrics["test"]["token_error_rate"] == pytest.approx(
        text_metrics.token_error_rate(
            text_metrics.characters(lines), text_metrics.characters(references)
        )
    )

    assert evaluate.main([f"run_dir={run_dir}"]) == 0
    table = capsys.readouterr().out
    report = json.loads((run_dir / "evaluation" / "test-greedy.json").read_text())["split"]
    assert report["exact_match"] == pytest.approx(share) and report["truncated"] == 0
    assert report["bleu"] == pytest.approx(metrics["test"]["bleu"])
    assert "length bound: ceil(6.6 n + 3) tokens" in table

    served = subprocess.run(
        [sys.executable, "-c", SERVE_TEXT, str(run_dir / "saved_model" / "1"), json.dumps(sources)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert served.returncode == 0, served.stderr[-2000:]
    served = json.loads(served.stdout)
    assert served["text"] == lines and not any(served["truncated"])


def test_the_old_bound_cuts_every_output_and_every_command_says_so(expanding_run, tmp_path, capsys):
    run_dir, _ = expanding_run
    sources, references = held_out_test(run_dir)
    old = "decoding.max_tokens=6"  # twice the source plus two: what every command used before
    lines, stderr = predict_lines(run_dir, sources, tmp_path, capsys, old)
    assert all(len(line) <= 6 for line in lines) and not set(lines) & set(references)
    assert f"warning: {len(sources)} of {len(sources)} outputs reached the length bound" in stderr
    assert "line 1 (6 tokens)" in stderr

    assert evaluate.main([f"run_dir={run_dir}", old]) == 0
    table = capsys.readouterr().out
    report = json.loads((run_dir / "evaluation" / "test-greedy-max6.json").read_text())["split"]
    assert report["exact_match"] == 0 and report["truncated"] == len(sources)
    assert "truncated" in table.splitlines()[3]  # the header of the table's columns
