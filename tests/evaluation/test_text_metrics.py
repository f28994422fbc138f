"""Token error rate, BLEU and chrF: checked against a brute-force edit distance and against
sacrebleu called directly on the same strings, through the evaluator as a run uses it; and
the evaluator's compiled step, traced once for a split whose last batch is smaller."""

import random

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from edit_distance import levenshtein
from seq2seq.data.splits import Split
from seq2seq.decoding.length_bound import LengthBound
from seq2seq.evaluation import text_metrics
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.text.tokenizers import train_subword
from seq2seq.text.vocabulary import EOS_ID, PAD_ID, Vocabulary


def test_edit_distances_match_the_textbook_recurrence():
    rng = random.Random(0)
    hyps = [[rng.randrange(6) for _ in range(rng.randrange(0, 9))] for _ in range(400)]
    refs = [[rng.randrange(6) for _ in range(rng.randrange(0, 9))] for _ in range(400)]
    np.testing.assert_array_equal(
        text_metrics.edit_distances(hyps, refs), [levenshtein(h, r) for h, r in zip(hyps, refs)]
    )
    expected = sum(levenshtein(h, r) for h, r in zip(hyps, refs)) / sum(len(r) for r in refs)
    assert text_metrics.token_error_rate(hyps, refs) == pytest.approx(expected)


class Decodes:
    """A fake model whose decoding emits given token ids, row by row (the evaluator's
    teacher-forced figures need logits: uniform ones)."""

    def __init__(self, outputs, vocab_size):
        self.outputs = tf.constant(outputs, tf.int32)
        self.vocab_size = vocab_size

    def __call__(self, x, training=False):
        shape = tf.shape(x["decoder_token_ids"])
        return tf.zeros([shape[0], shape[1], self.vocab_size])

    def encode(self, encoder_token_ids, training=False):
        return tf.shape(encoder_token_ids)[0]

    def initial_decoder_state(self, encoded):
        return tf.zeros([encoded], tf.int32)  # the step each row is at

    def decode_step(self, token_ids, state, encoded):
        step = tf.minimum(state, tf.shape(self.outputs)[1] - 1)
        rows = tf.range(tf.shape(token_ids)[0])
        tokens = tf.gather_nd(self.outputs, tf.stack([rows, step], axis=1))
        return tf.one_hot(tokens, self.vocab_size) * 10.0, state + 1


def ids(vocab, texts, width, eos=True):
    rows = [vocab.encode_text(t) + [EOS_ID] * eos for t in texts]
    return np.array([r + [PAD_ID] * (width - len(r)) for r in rows], np.int32)


def test_the_evaluator_reports_what_sacrebleu_and_the_edit_distance_say():
    vocab = Vocabulary("the a cat dog sat ran on mat".split(), "space")
    references = ["the cat sat on the mat", "a dog ran", "the dog sat on a mat", "a cat"]
    hypotheses = ["the cat sat on a mat", "a dog", "the dog sat on a mat", "the cat ran"]
    split = Split(
        ids(vocab, ["a"] * 4, 2)[:, :1], ids(vocab, references, 6, eos=False), tuple(references)
    )
    model = Decodes(ids(vocab, hypotheses, 8), vocab.size)
    evaluator = Evaluator(model, batch_size=4, target_vocab=vocab, bound=LengthBound.fixed(8))
    metrics = evaluator(split, by_length=True)
    assert metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, [references]).score)
    assert metrics["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hypotheses, [references]).score)
    words = [(h.split(), r.split()) for h, r in zip(hypotheses, references)]
    expected = sum(levenshtein(h, r) for h, r in words) / sum(len(r) for _, r in words)
    assert metrics["token_error_rate"] == pytest.approx(expected)
    assert metrics["exact_match"] == 0.25
    # By target length: "a cat" (2), "a dog ran" (3), the two of 6 words.
    assert sorted(metrics["by_length"]) == [2, 3, 6]
    assert metrics["by_length"][3]["token_error_rate"] == pytest.approx(1 / 3)
    assert metrics["by_length"][6]["sequences"] == 2


def test_subwords_count_errors_in_characters_of_the_detokenized_text():
    pieces = train_subword(
        iter(["the cat sat", "a dog ran", "the dog sat on a mat"] * 40), 40, "unigram"
    )
    vocab = Vocabulary.from_subword(pieces)
    references, hypotheses = ["the cat sat", "a dog ran"], ["the cat sa", "a dog ran"]
    split = Split(
        ids(vocab, ["a"] * 2, 2)[:, :1], ids(vocab, references, 11, eos=False), tuple(references)
    )
    model = Decodes(ids(vocab, hypotheses, 12), vocab.size)
    metrics = Evaluator(model, 2, target_vocab=vocab, bound=LengthBound.fixed(12))(split)
    assert metrics["token_error_rate"] == pytest.approx(1 / (len("the cat sat") + len("a dog ran")))
    assert metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, [references]).score)


def test_a_smaller_last_batch_runs_the_same_compiled_step():
    vocab = Vocabulary("the a cat dog".split(), "space")
    references = ["the cat", "a dog", "the dog", "a cat"]
    split = Split(
        ids(vocab, ["a"] * 4, 2)[:, :1], ids(vocab, references, 3, eos=False), tuple(references)
    )
    evaluator = Evaluator(Decodes(ids(vocab, references, 4), vocab.size), batch_size=3)
    evaluator(split)  # batches of 3 and 1
    evaluator(split)
    (step,) = evaluator._steps.values()
    assert step.experimental_get_tracing_count() == 1
