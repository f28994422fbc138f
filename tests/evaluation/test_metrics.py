"""Metrics ignore padding: token accuracy over real tokens, exact-match through EOS."""

import numpy as np

from seq2seq.evaluation.metrics import ExactMatch, token_accuracy
from seq2seq.text.vocabulary import EOS_ID

Y = np.array([[5, 4, EOS_ID, 0], [6, EOS_ID, 0, 0]])
MASK = (Y != 0).astype("float32")


def test_exact_match_counts_a_sequence_only_if_every_token_through_eos_is_right():
    metric = ExactMatch()
    # First: right through EOS, garbage after it (padding positions): counts.
    # Second: the EOS is wrong: does not count.
    predicted = np.array([[5, 4, EOS_ID, 7], [6, 3, 0, 0]])
    metric.update_state(Y, predicted, sample_weight=MASK)
    assert float(metric.result()) == 0.5


def test_exact_match_from_logits_takes_the_argmax():
    logits = np.eye(8)[np.array([[5, 4, EOS_ID, 1], [6, EOS_ID, 3, 3]])]
    metric = ExactMatch()
    metric.update_state(Y, logits, sample_weight=MASK)
    assert float(metric.result()) == 1.0


def test_token_accuracy_ignores_padding():
    predicted = np.array([[5, 0, EOS_ID, 7], [6, EOS_ID, 7, 7]])  # one real token wrong
    metric = token_accuracy()
    metric.update_state(Y, np.eye(8)[predicted], sample_weight=MASK)
    assert np.isclose(float(metric.result()), 4 / 5)
