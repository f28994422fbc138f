"""One answer from every output, whatever the precision (issue 29, point 2): a run trained in
mixed_bfloat16 (what `auto` picks on a CPU with AMX) decodes in float32 everywhere, so
`predict`, the SavedModel's `serve_text` and `serve_text_beam`, `evaluate` and metrics.json
give the same strings and the same log-probabilities to predict's 4 decimals. Decoded in
bfloat16, the export and metrics.json of this very run differed from predict's and
evaluate's (20 of its 300 greedy outputs, every n-best list's log-probabilities)."""

import json

import keras
import pytest
import tensorflow as tf

import seq2seq
from conftest import saved_model_export, write_pairs
from seq2seq import compose_config, predict
from seq2seq.model.precision import decodes_in_float32
from seq2seq.serving.evaluate_run import evaluate_run

pytestmark = pytest.mark.slow  # trains a run of its own in bfloat16 (~30 s on 2 cores)


@pytest.fixture(scope="module")
def bfloat16_run(tmp_path_factory):
    """A short run on 300 word pairs (character vocabularies) trained in mixed_bfloat16, and
    every source of its file."""
    root = tmp_path_factory.mktemp("bfloat16")
    path = write_pairs(root / "pairs.tsv", 300)
    cfg = compose_config(["task=tsv", f"task.path={path}", "task.val_size=10", "task.test_size=10",
                          "task.tokenizer=char", "model.units=16", "model.embedding_dim=8",
                          "trainer.epochs=2", "trainer.precision=mixed_bfloat16",
                          "logging.images=false", "logging.samples=0", "logging.histogram_freq=0",
                          f"data_dir={root}"])  # fmt: skip
    with saved_model_export():
        seq2seq.train(cfg, run_dir=str(root / "run"))
    sources = [line.split("\t")[0] for line in path.read_text().splitlines()]
    inputs = root / "inputs.txt"
    inputs.write_text("".join(f"{s}\n" for s in sources))
    return root / "run", sources, inputs


def test_run_json_names_both_precisions_and_model_keras_computes_in_float32(bfloat16_run):
    run_dir, _, _ = bfloat16_run
    record = json.loads((run_dir / "run.json").read_text())
    assert (record["precision"], record["decoding_precision"]) == ("mixed_bfloat16", "float32")
    # Saved as it decodes: plain Keras loads it computing in float32 too.
    assert decodes_in_float32(keras.saving.load_model(run_dir / "model.keras"))


def test_predict_and_serve_text_give_the_same_greedy_outputs(bfloat16_run, tmp_path):
    run_dir, sources, inputs = bfloat16_run
    out = tmp_path / "greedy.txt"
    assert predict.main([f"run_dir={run_dir}", f"input_file={inputs}", f"output_file={out}"]) == 0
    served = tf.saved_model.load(str(run_dir / "saved_model" / "1")).signatures["serve_text"]
    texts = [t.decode() for t in served(text=tf.constant(sources))["text"].numpy().tolist()]
    assert out.read_text().splitlines() == texts


def test_predict_n_best_and_serve_text_beam_agree_to_4_decimals(bfloat16_run, tmp_path):
    run_dir, sources, inputs = bfloat16_run
    out = tmp_path / "n_best.tsv"
    args = [f"run_dir={run_dir}", f"input_file={inputs}", f"output_file={out}", "decoding=beam",
            "decoding.n_best=5"]  # fmt: skip
    assert predict.main(args) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    served = tf.saved_model.load(str(run_dir / "saved_model" / "1")).signatures["serve_text_beam"]
    beams = served(text=tf.constant(sources))
    texts, log_probs = beams["texts"].numpy().tolist(), beams["log_probs"].numpy().tolist()
    assert len(rows) == 5 * len(sources)
    for i, source in enumerate(sources):
        printed = rows[5 * i : 5 * i + 5]
        assert [r[0] for r in printed] == [str(i + 1)] * 5, source
        assert [t.decode() for t in texts[i]] == [r[3] for r in printed], source
        # Equal to the 4 decimals predict prints: within the rounding of the last one.
        assert log_probs[i] == pytest.approx([float(r[2]) for r in printed], rel=0, abs=6e-5)


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluate_gives_the_figures_of_metrics_json(bfloat16_run, split):
    run_dir, _, _ = bfloat16_run
    written = json.loads((run_dir / "metrics.json").read_text())[split]
    cfg = compose_config([f"run_dir={run_dir}", f"split={split}"], config_name="evaluate")
    measured = evaluate_run(cfg)["split"]
    assert {name: measured[name] for name in written} == pytest.approx(written, rel=1e-6, abs=1e-6)
