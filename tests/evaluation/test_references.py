"""Several references per source: a held-out source keeps every target, the `*_any`
figures measure against the closest one, BLEU and chrF against all, and evaluate's n-best
oracle exact-match counts a source right when any of the K best is a reference."""

import numpy as np
import pytest
import sacrebleu

import seq2seq
from seq2seq import compose_config
from seq2seq.data import held_out
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.evaluation import text_metrics
from seq2seq.serving.evaluate_run import evaluate_run
from seq2seq.serving.finished_run import load_run

TSV = ("task=tsv", "task.val_size=12", "task.test_size=12", "model.units=16",
       "model.embedding_dim=8", "trainer.epochs=2", "trainer.batch_size=32", "logging.images=false",
       "trainer.precision=float32")  # fmt: skip


def word(i):
    return " ".join("abcdefgh"[int(d)] for d in f"{i:03o}")


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    """A run on 120 sources, every other one with a second target, every 4th a third."""
    root = tmp_path_factory.mktemp("references")
    lines = [f"{word(i)}\t{' '.join(reversed(word(i).split()))}" for i in range(120)]
    lines += [f"{word(i)}\t{word(i)}" for i in range(0, 120, 2)]  # a second target
    lines += [f"{word(i)}\ta b" for i in range(0, 120, 4)]  # and a third
    path = root / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    targets = {}
    for line in lines:
        source, target = line.split("\t")
        targets.setdefault(source, []).append(target)
    run_dir = root / "run"
    seq2seq.train(compose_config([*TSV, f"task.path={path}"]), run_dir=str(run_dir))
    return run_dir, targets


@pytest.mark.slow  # trains (or shares a trained run): make test, not test-fast
def test_a_held_out_source_keeps_every_target(multi_run):
    run_dir, targets = multi_run
    run = load_run(run_dir)
    for name in ("val", "test"):
        split = held_out.load_split(run_dir, name, run.vocabs)
        assert len(split) == 12
        for references, source in zip(split.references, split.source_ids):
            text = run.vocabs.source.decode_text(source)
            assert list(references) == targets[text]  # all of them, the first one first
    several = [
        r for s in ("val", "test") for r in held_out.load_split(run_dir, s, run.vocabs).references
    ]
    assert any(len(r) > 1 for r in several)


def _outputs(run_dir, split, *overrides):
    """What predict gives for the split's sources, as texts per source."""
    run = load_run(run_dir)
    cfg = compose_config([f"run_dir={run_dir}", *overrides], config_name="predict")
    sources = [row[row > 0].tolist() for row in split.source_ids]
    outputs = decode_sequences(run.model, sources, cfg.decoding, 64, run.decoding_bound(None))
    return [[run.vocabs.target.decode_text(ids) for ids, _ in hyps] for hyps in outputs]


@pytest.mark.slow  # trains (or shares a trained run): make test, not test-fast
def test_the_any_figures_match_a_brute_force_count(multi_run):
    run_dir, _ = multi_run
    run = load_run(run_dir)
    split = held_out.load_split(run_dir, "test", run.vocabs)
    report = evaluate_run(compose_config([f"run_dir={run_dir}"], config_name="evaluate"))
    figures = report["split"]
    hypotheses = [h[0] for h in _outputs(run_dir, split)]
    assert figures["exact_match_any"] == pytest.approx(
        np.mean([h in refs for h, refs in zip(hypotheses, split.references)])
    )
    assert figures["exact_match_any"] >= figures["exact_match"]
    assert figures["token_error_rate_any"] <= figures["token_error_rate"] + 1e-9
    streams = text_metrics.reference_streams(split.references)
    assert len(streams) == 3 and None in streams[2]
    assert figures["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, streams).score)
    assert figures["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hypotheses, streams).score)


@pytest.mark.slow  # trains (or shares a trained run): make test, not test-fast
def test_the_oracle_counts_any_of_the_n_best(multi_run):
    run_dir, _ = multi_run
    run = load_run(run_dir)
    split = held_out.load_split(run_dir, "test", run.vocabs)
    beam = ("decoding=beam", "decoding.beam_size=3", "decoding.n_best=3")
    report = evaluate_run(compose_config([f"run_dir={run_dir}", *beam], config_name="evaluate"))[
        "split"
    ]
    n_best = _outputs(run_dir, split, *beam)
    assert all(len(h) == 3 for h in n_best)
    oracle = np.mean([any(h in refs for h in hyps) for hyps, refs in zip(n_best, split.references)])
    assert report["oracle_exact_match"] == pytest.approx(oracle)
    assert report["oracle_exact_match"] >= report["exact_match"]


@pytest.mark.slow  # trains (or shares a trained run): make test, not test-fast
def test_scores_of_texts_are_evaluates_figures(multi_run):
    """A peer's outputs, scored as text (benchmarks/peers.py), get the figures `evaluate`
    reports for the same outputs of a run."""
    run_dir, _ = multi_run
    run = load_run(run_dir)
    split = held_out.load_split(run_dir, "test", run.vocabs)
    figures = evaluate_run(compose_config([f"run_dir={run_dir}"], config_name="evaluate"))
    hypotheses = [h[0] for h in _outputs(run_dir, split)]
    scores = text_metrics.scores_of_texts(hypotheses, split.references)
    assert any(len(r) > 1 for r in split.references)
    for name, value in scores.items():
        assert value == pytest.approx(figures["split"][name]), name


def test_scores_of_texts_first_and_closest():
    hypotheses = ["a b c", "d", "x"]
    references = [("a b", "a b c"), ("e e",), ("x", "y")]
    scores = text_metrics.scores_of_texts(hypotheses, references)
    assert scores["exact_match"] == pytest.approx(1 / 3)  # only "x" is its first reference
    assert scores["exact_match_any"] == pytest.approx(2 / 3)
    # first: 1 + 2 + 0 edits over 2 + 2 + 1; closest: 0 + 2 + 0 over 3 + 2 + 1
    assert scores["token_error_rate"] == pytest.approx(3 / 5)
    assert scores["token_error_rate_any"] == pytest.approx(2 / 6)
    characters = text_metrics.scores_of_texts(["ab"], [("abc",)], units=list)
    assert characters["token_error_rate"] == pytest.approx(1 / 3)


def test_scores_of_texts_refuses_rows_that_do_not_pair():
    with pytest.raises(ValueError, match="2 outputs against 1 rows of references"):
        text_metrics.scores_of_texts(["a", "b"], [("a",)])
    with pytest.raises(ValueError, match="a row has no reference"):
        text_metrics.scores_of_texts(["a"], [()])


def test_closest_reference_error_rate():
    hyps, refs = [[1, 2, 3], [4]], [([1, 2], [1, 2, 3]), ([5, 5],)]
    # row 1: the second reference (0 edits, 3 long); row 2: 2 edits over 2
    assert text_metrics.closest_error_rate(hyps, refs) == pytest.approx(2 / 5)
    one = [(r[0],) for r in refs]
    first = [r[0] for r in refs]
    assert text_metrics.closest_error_rate(hyps, one) == text_metrics.token_error_rate(hyps, first)


@pytest.mark.slow  # trains (or shares a trained run): make test, not test-fast
def test_a_generated_task_has_one_reference_and_equal_figures(trained_run):
    run_dir, _ = trained_run
    cfg = compose_config([f"run_dir={run_dir}", "eval.size=20"], config_name="evaluate")
    for part in (evaluate_run(cfg)["split"],):
        assert part["exact_match_any"] == part["exact_match"]
        assert part["token_error_rate_any"] == pytest.approx(part["token_error_rate"])
