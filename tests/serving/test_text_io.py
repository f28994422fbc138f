"""Text in, text out: predict reads text as the run's source tokenizer does and writes
detokenized text, or n-best lists with log-probabilities; the SavedModel's serve_text
signature does the same with TensorFlow alone, loaded where this package is not. Sources
are normalized (task.normalize) alike in predict, score, evaluate and the text signatures,
which count unknown symbols as predict does; evaluate writes its examples to a TSV."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

import seq2seq
from conftest import saved_model_export, write_pairs
from edit_distance import levenshtein
from seq2seq import ConfigError, UserError, compose_config, evaluate, predict, score, validate
from seq2seq.base.names import (
    CONFIG_FILE,
    EVALUATION_DIR,
    EVALUATION_EXAMPLES,
    HELD_OUT_DIR,
    SAVED_MODEL_EXPORT,
)
from seq2seq.decoding import length_bound
from seq2seq.decoding.length_bound import LengthBound
from seq2seq.decoding.strategies import greedy_decode
from seq2seq.serving.export import export_saved_model
from seq2seq.serving.finished_run import load_ensemble
from seq2seq.text.text_rules import run_normalization

SIDES = {
    "char": ["task.tokenizer=char"],
    "subword": ["task.tokenizer=subword", "task.source_vocab_size=40", "task.target_vocab_size=40"],
}


# Every test of a trained run here waits for make test (the two runs' training and serving
# took 50 of the file's 75 worker-seconds on a 2-core Xeon): make test-fast keeps the text
# rules' own tests.
@pytest.fixture(
    scope="module", params=[pytest.param(p, marks=pytest.mark.slow) for p in ("char", "subword")]
)
def text_run(request, tmp_path_factory):
    """A short run on a file of word pairs with character or subword vocabularies; float32
    whatever `auto` picks, for the served log-probabilities are compared with predict's to
    its 4 decimals, and bfloat16's rounding depends on the batch."""
    root = tmp_path_factory.mktemp(f"text_{request.param}")
    path = write_pairs(root / "pairs.tsv", 300)
    # task.normalize=lower: its sources are lower case already, so the run is the one it
    # would be without, and its export's text signatures lower-case (test_normalize_*).
    cfg = compose_config(["task=tsv", f"task.path={path}", "task.val_size=10", "task.test_size=10",
                          *SIDES[request.param], "task.normalize=lower", "model.units=16", "model.embedding_dim=8",
                          "trainer.epochs=2", "logging.images=false", "logging.samples=0",
                          "logging.histogram_freq=0", "trainer.precision=float32",
                          f"data_dir={root}"])  # fmt: skip
    with saved_model_export():
        seq2seq.train(cfg, run_dir=str(root / "run"))
    return root / "run", request.param


def in_process(run_dir, texts, bound=None, truncated=False):
    """What the run's model decodes greedily for `texts`, each to its length bound (the
    run's by default), read back as text; with `truncated`, which outputs were cut short."""
    run = seq2seq.load_run(run_dir)
    rows = [run.vocabs.source.encode_text(t) for t in texts]
    width = max(len(r) for r in rows)
    ids = np.array([r + [0] * (width - len(r)) for r in rows], np.int32)
    decoded, cut = length_bound.bounded(
        lambda t, max_len: greedy_decode(run.model, t, max_len),
        tf.constant(ids), bound or run.decoding_bound(),
    )  # fmt: skip
    texts = [run.vocabs.target.decode_text(row) for row in decoded.numpy()]
    return (texts, cut.numpy().tolist()) if truncated else texts


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
out = served(text=tf.constant(texts, tf.string))
empty = served(text=tf.constant([], tf.string))
refused = []
for raw in NOT_UTF8:
    try:
        served(text=tf.constant([b"a b", bytes.fromhex(raw)]))
        refused.append(None)
    except tf.errors.InvalidArgumentError as error:
        refused.append(" ".join(error.message.split()))
assert not any(name.split(".")[0] == "seq2seq" for name in sys.modules)
print(json.dumps({"out": [o.decode() for o in out["text"].numpy().tolist()],
                  "truncated": out["truncated"].numpy().tolist(),
                  "empty": empty["text"].numpy().tolist(),
                  "empty_truncated": empty["truncated"].numpy().tolist(),
                  "refused": refused}))
""".replace("NOT_UTF8", repr(["ff", "61c3", "c328"]))  # a byte no UTF-8 has; cut; bad


def serve_text(saved_model, texts, tokenizer, cwd):
    """What `serve_text` returns for `texts`, from a process that never imports seq2seq."""
    result = subprocess.run(
        [sys.executable, "-c", SERVE_TEXT, str(saved_model), json.dumps(texts), tokenizer],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_the_saved_model_serves_text_without_this_package(text_run, tmp_path):
    run_dir, tokenizer = text_run
    served = serve_text(run_dir / "saved_model" / "1", [*INPUTS, ""], tokenizer, tmp_path)
    texts, truncated = in_process(run_dir, INPUTS, truncated=True)
    assert served["out"] == [*texts, ""]
    assert served["truncated"] == [*truncated, False]
    assert served["empty"] == [] and served["empty_truncated"] == []
    # Bytes that are not UTF-8, which predict refuses too, are refused naming the rule.
    assert len(served["refused"]) == 3
    for message in served["refused"]:
        assert (
            message is not None
            and "text: a string that is not UTF-8; allowed: UTF-8 text" in message
        )


def test_serve_text_says_which_outputs_its_bound_cut_short(text_run, tmp_path):
    run_dir, tokenizer = text_run
    run = seq2seq.load_run(run_dir)
    short = LengthBound.fixed(2)  # too short for any reversed four-letter word
    export_saved_model(run.model, tmp_path / "short", run.vocabs, short)
    # Loaded here, not in a fresh process: that it serves without the package is the test
    # above's; this one is about the flag.
    signature = tf.saved_model.load(str(tmp_path / "short")).signatures["serve_text"]
    served = signature(text=tf.constant(INPUTS))
    texts, truncated = in_process(run_dir, INPUTS, short, truncated=True)
    assert [t.decode() for t in served["text"].numpy().tolist()] == texts
    assert served["truncated"].numpy().tolist() == truncated
    assert any(truncated)


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


def test_predict_counts_symbols_the_vocabulary_lacks_or_refuses_them(text_run, capsys):
    """An input symbol unseen in training reads as <unk>: a warning naming the line and
    the symbols, a count in the summary; on_unknown=error refuses the input."""
    run_dir, _ = text_run
    # The words use letters a..h; subword pieces of unseen letters are longer than the words.
    args = [f"run_dir={run_dir}", "input='a b c d\nz b q d'", "max_input_symbols=20"]
    assert predict.main(args) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    warnings = [line for line in captured.err.splitlines() if "<unk>" in line]
    assert warnings[0].startswith("warning: input line 2: 'z', 'q' not in the vocabulary")
    assert warnings[1].startswith(
        "warning: 1 of 2 inputs hold symbols the vocabulary lacks (2 in all), read as <unk>"
    )
    with pytest.raises(SystemExit) as exit_info:
        predict.main([*args, "on_unknown=error"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err
    assert err.startswith("error: input line 2, position ")  # subword: after the piece '▁'
    assert ": 'z' is not a symbol of the vocabulary (it would read as <unk>)" in err


SERVE_BEAM = """
import json, sys
import tensorflow as tf
if sys.argv[3] == "subword":
    import tensorflow_text  # registers the SentencePiece op (no seq2seq)
loaded = tf.saved_model.load(sys.argv[1])
texts = tf.constant(json.loads(sys.argv[2]), tf.string)
out = loaded.signatures["serve_text_beam"](text=texts)
default = loaded.signatures["serving_default"](text=texts)
blank = loaded.signatures["serve_text_beam"](text=tf.constant(["", json.loads(sys.argv[2])[0]]))
assert not any(name.split(".")[0] == "seq2seq" for name in sys.modules)
print(json.dumps({
    "signatures": sorted(loaded.signatures),
    "texts": [[t.decode() for t in row] for row in out["texts"].numpy().tolist()],
    "log_probs": out["log_probs"].numpy().tolist(),
    "lengths": out["lengths"].numpy().tolist(),
    "truncated": out["truncated"].numpy().tolist(),
    "default": [t.decode() for t in default["text"].numpy().tolist()],
    "blank": [[t.decode() for t in blank["texts"].numpy()[0].tolist()], blank["log_probs"].numpy()[0].tolist(),
              blank["lengths"].numpy()[0].tolist(), blank["truncated"].numpy()[0].tolist()],
}))
"""


@pytest.mark.slow  # about 5 s: keeps make test-fast under 2 minutes
def test_the_beam_signature_serves_predicts_n_best_lists_without_this_package(text_run, tmp_path):
    run_dir, tokenizer = text_run
    result = subprocess.run(
        [sys.executable, "-c", SERVE_BEAM, str(run_dir / "saved_model" / "1"),
         json.dumps(INPUTS), tokenizer],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout)
    assert served["signatures"] == ["serve", "serve_text", "serve_text_beam", "serving_default"]
    assert served["default"] == in_process(run_dir, INPUTS)  # serving_default: serve_text
    out = tmp_path / "n_best.tsv"
    args = [f"run_dir={run_dir}", f"input_file={inputs_file(tmp_path)}", "decoding=beam",
            "decoding.n_best=5", f"output_file={out}"]  # fmt: skip
    assert predict.main(args) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    for i, line in enumerate(INPUTS):
        expected = [r for r in rows if r[0] == str(i + 1)]
        assert served["texts"][i] == [r[3] for r in expected], line
        # To predict's 4 decimals in float32; bfloat16 (auto, with AMX) rounds by the batch.
        assert served["log_probs"][i] == pytest.approx(
            [float(r[2]) for r in expected], rel=1e-3, abs=1e-3
        ), line
        if tokenizer == "char":  # a symbol per character (subword pieces do not re-encode 1:1)
            assert served["lengths"][i] == [len(r[3]) for r in expected], line
        assert all(n > 0 for n, t in zip(served["lengths"][i], served["texts"][i]) if t), line
    # An empty string: empty hypotheses, log-probability 0, length 0, not truncated.
    assert served["blank"] == [[""] * 5, [0.0] * 5, [0] * 5, [False] * 5]


def predicted(run_dir, lines, capsys, *args) -> tuple:
    """predict's outputs for `lines`, and its warnings about unknown symbols."""
    assert predict.main([f"run_dir={run_dir}", f"input='{chr(10).join(lines)}'", *args]) == 0
    captured = capsys.readouterr()
    return captured.out.splitlines(), [w for w in captured.err.splitlines() if "<unk>" in w]


def test_normalize_predict_and_score_read_sources_as_the_run_normalized_them(
    text_run, tmp_path, capsys
):
    run_dir, _ = text_run
    assert run_normalization(seq2seq.load_run(run_dir).config.task) == "lower"
    outputs, warnings = predicted(run_dir, ["a b c d", "A B C D"], capsys)
    assert outputs[1] == outputs[0] and warnings == []
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a b c d\td c b a\nA B C D\td c b a\n")
    out = tmp_path / "scores.tsv"
    assert score.main([f"run_dir={run_dir}", f"input_file={pairs}", f"output_file={out}"]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0] == rows[1] and rows[1][0] == "a b c d"


def test_normalize_text_signatures_count_unknown_symbols_as_predict(text_run, capsys):
    run_dir, _ = text_run
    texts = ["a b c d", "A B C D", "Z b Q d", ""]
    outputs, warnings = predicted(run_dir, texts[:3], capsys, "max_input_symbols=20")
    assert warnings[0].startswith("warning: input line 3: 'z', 'q' not in the vocabulary")
    # The export training wrote: it lower-cases as predict does.
    loaded = tf.saved_model.load(str(run_dir / SAVED_MODEL_EXPORT))
    served = loaded.signatures["serve_text"](text=tf.constant(texts))
    assert [t.decode() for t in served["text"].numpy().tolist()] == [*outputs, ""]
    assert served["unknown"].numpy().tolist() == [0, 0, 2, 0]  # 'z' and 'q', as predict
    beam = loaded.signatures["serve_text_beam"](text=tf.constant(texts))
    assert beam["unknown"].numpy().tolist() == [0, 0, 2, 0]


@pytest.mark.slow  # about 6 s: a copy of the run exported again
def test_normalize_nfkc_in_the_graph_as_in_predict_and_what_it_refuses(text_run, tmp_path, capsys):
    """The run set to nfkc_lower (its sources, lower-case letters, are their own NFKC
    forms: the run that would have trained) and exported again: full-width letters read
    as predict reads them; a capital TensorFlow's lower case does not know is refused; an
    ensemble of runs normalizing otherwise is refused."""
    run_dir, _ = text_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("saved_model", "tensorboard"))
    config = OmegaConf.load(copy / CONFIG_FILE)
    config.task.normalize = "nfkc_lower"
    OmegaConf.save(config, copy / CONFIG_FILE)
    run = seq2seq.load_run(copy)
    export_saved_model(run.model, tmp_path / "nfkc", run.vocabs, run.bound, "nfkc_lower")
    texts = ["\uff21 \uff22 \uff43 \uff44", "a b c d"]  # full-width A B c d
    outputs, warnings = predicted(copy, texts, capsys)
    assert outputs[0] == outputs[1] and warnings == []
    served = tf.saved_model.load(str(tmp_path / "nfkc")).signatures["serve_text"]
    assert [t.decode() for t in served(text=tf.constant(texts))["text"].numpy()] == outputs
    with pytest.raises(tf.errors.InvalidArgumentError, match="task.normalize=nfkc_lower reads"):
        served(text=tf.constant(["a b", "\u2c2f"]))  # a capital of Unicode 14
    with pytest.raises(
        UserError, match=r"normalizes sources otherwise \(task.normalize=nfkc_lower"
    ):
        load_ensemble(seq2seq.load_run(run_dir), [str(copy)])


def test_evaluate_writes_each_example_beside_its_report(text_run, capsys):
    run_dir, _ = text_run
    assert evaluate.main([f"run_dir={run_dir}"]) == 0
    out = capsys.readouterr().out.splitlines()
    examples = run_dir / EVALUATION_DIR / f"test-greedy.{EVALUATION_EXAMPLES}"
    assert out[-2] == f"examples: {examples}"
    with open(examples, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["source", "reference", "output", "errors", "exact"]
    held_out = [
        line.split("\t") for line in (run_dir / HELD_OUT_DIR / "test.tsv").read_text().splitlines()
    ]
    assert [row[:2] for row in rows[1:]] == held_out  # every source, in order
    outputs, _ = predicted(run_dir, [source for source, _ in held_out], capsys)
    assert [row[2] for row in rows[1:]] == outputs
    for source, reference, output, errors, exact in rows[1:]:
        # The error rate's unit: characters (char symbols; subword counts characters).
        assert int(errors) == levenshtein(output, reference), source
        assert exact == str(int(output == reference))
    report = json.loads(open(out[-1].removeprefix("written: ")).read())["split"]
    assert sum(int(r[4]) for r in rows[1:]) / len(held_out) == pytest.approx(report["exact_match"])
    total = sum(len(r[1]) for r in rows[1:])
    assert sum(int(r[3]) for r in rows[1:]) / total == pytest.approx(report["token_error_rate"])


def test_normalize_is_refused_for_a_generated_task():
    with pytest.raises(ConfigError, match=r"^task.normalize='lower': applies to task=tsv only"):
        validate(compose_config(["task.normalize=lower"]))


def test_a_run_saved_before_normalize_normalizes_nothing():
    assert run_normalization(OmegaConf.create({"name": "tsv"})) == "none"
