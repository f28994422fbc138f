"""Text in, text out: predict reads text as the run's source tokenizer does and writes
detokenized text, or n-best lists with log-probabilities; the SavedModel's serve_text
signature does the same with TensorFlow alone, loaded where this package is not."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import seq2seq
from conftest import write_pairs
from seq2seq import predict
from seq2seq.evaluation.decoding import greedy_decode
from seq2seq_config import compose_config

SIDES = {
    "char": ["task.tokenizer=char"],
    "subword": ["task.tokenizer=subword", "task.source_vocab_size=40", "task.target_vocab_size=40"],
}


@pytest.fixture(scope="module", params=list(SIDES))
def text_run(request, tmp_path_factory):
    """A short run on a file of word pairs with character or subword vocabularies."""
    root = tmp_path_factory.mktemp(f"text_{request.param}")
    path = write_pairs(root / "pairs.tsv", 300)
    cfg = compose_config(["task=tsv", f"task.path={path}", "task.val_size=10", "task.test_size=10",
                          *SIDES[request.param], "model.units=16", "model.embedding_dim=8",
                          "trainer.epochs=2", "logging.images=false", "logging.samples=0",
                          "logging.histogram_freq=0", f"data_dir={root}"])  # fmt: skip
    seq2seq.train(cfg, run_dir=str(root / "run"))
    return root / "run", request.param


def in_process(run_dir, texts):
    """What the run's model decodes greedily for `texts`, read back as text."""
    run = seq2seq.load_run(run_dir)
    rows = [run.vocabs.source.encode_text(t) for t in texts]
    width = max(len(r) for r in rows)
    ids = np.array([r + [0] * (width - len(r)) for r in rows], np.int32)
    decoded = greedy_decode(run.model, tf.constant(ids), 2 * width + 2).numpy()
    return [run.vocabs.target.decode_text(row) for row in decoded]


INPUTS = ["a b c d", "h g f e", "b a d c"]


def inputs_file(tmp_path):
    path = tmp_path / "inputs.txt"
    path.write_text("\n".join(INPUTS) + "\n")
    return path


def test_predict_reads_text_and_writes_detokenized_text(text_run, tmp_path):
    run_dir, _ = text_run
    out = tmp_path / "out.txt"
    args = [f"run_dir={run_dir}", f"input_file={inputs_file(tmp_path)}", f"output_file={out}"]
    assert predict.main(args) == 0
    assert out.read_text().splitlines() == in_process(run_dir, INPUTS)


def test_n_best_lists_are_ranked_with_their_log_probabilities(text_run, tmp_path, capsys):
    run_dir, _ = text_run
    args = [f"run_dir={run_dir}", f"input_file={inputs_file(tmp_path)}", "decoding=beam", "decoding.beam_size=4",
            "decoding.n_best=3"]  # fmt: skip
    assert predict.main(args) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [(str(i), str(k)) for i in (1, 2, 3) for k in (1, 2, 3)]
    for i in range(3):
        scores = [float(r[2]) for r in rows[3 * i : 3 * i + 3]]
        assert all(s <= 0 for s in scores)  # log-probabilities
        assert scores == sorted(scores, reverse=True)  # best first (no length penalty)


SERVE_TEXT = """
import json, sys
import tensorflow as tf
if sys.argv[3] == "subword":
    import tensorflow_text  # registers the SentencePiece op (no seq2seq)
served = tf.saved_model.load(sys.argv[1]).signatures["serve_text"]
texts = json.loads(sys.argv[2])
out = served(text=tf.constant(texts, tf.string))["text"].numpy().tolist()
empty = served(text=tf.constant([], tf.string))["text"].numpy().tolist()
assert "seq2seq" not in sys.modules and "seq2seq_config" not in sys.modules
print(json.dumps({"out": [o.decode() for o in out], "empty": empty}))
"""


def test_the_saved_model_serves_text_without_this_package(text_run, tmp_path):
    run_dir, tokenizer = text_run
    result = subprocess.run(
        [sys.executable, "-c", SERVE_TEXT, str(run_dir / "saved_model"), json.dumps([*INPUTS, ""]), tokenizer],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout)
    assert served["out"] == [*in_process(run_dir, INPUTS), ""]
    assert served["empty"] == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["decoding=beam", "decoding.beam_size=2", "decoding.n_best=3"],
         "error: decoding.n_best=3: the beam keeps 2 hypotheses; allowed: 1 to decoding.beam_size (2)"),
        (["decoding.n_best=2"], "error: decoding.n_best=2: decoding=greedy gives one hypothesis"),
        (["output_file=/nonexistent/dir/out.txt"], "error: output_file='/nonexistent/dir/out.txt': cannot be written in /nonexistent/dir"),
    ],
)  # fmt: skip
def test_bad_predict_arguments_are_refused_in_one_line(text_run, args, message, capsys):
    run_dir, _ = text_run
    with pytest.raises(SystemExit) as exit_info:
        predict.main([f"run_dir={run_dir}", "input=a b", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err
