"""Greedy decoding on a fake step function: no model needed to pin down the loop."""

import numpy as np
import tensorflow as tf

from seq2seq.decoding import greedy_search
from seq2seq.vocab import BOS_ID, EOS_ID, PAD_ID

VOCAB = 8


def scripted_step(script):
    """A step that emits `script[row][t]` at step t, whatever it is fed; state is t."""
    script = tf.constant(script, tf.int32)

    def step(token_ids, t):
        return tf.one_hot(script[:, t], VOCAB) * 10.0, t + 1

    return step



def test_each_sequence_stops_at_its_own_eos_and_is_padded_after():
    script = [[5, 6, EOS_ID, 7, 7], [4, EOS_ID, 7, 7, 7], [3, 3, 3, 3, EOS_ID]]
    ids = greedy_search(scripted_step(script), tf.constant(0), 3, 5)
    np.testing.assert_array_equal(
        ids, [[5, 6, EOS_ID, PAD_ID, PAD_ID], [4, EOS_ID, 0, 0, 0], [3, 3, 3, 3, EOS_ID]]
    )


def test_feeds_back_its_own_predictions_starting_from_bos():
    script = [[5, 6, EOS_ID, 7, 7]]
    fed = []

    def recording(token_ids, state):
        fed.append(token_ids.numpy().tolist())
        return scripted_step(script)(token_ids, state)

    greedy_search(recording, tf.constant(0), 1, 5)
    assert fed == [[BOS_ID], [5], [6]]  # and no step after the EOS


def test_max_len_bounds_the_output():
    script = [[3, 4, 5, 6, 7, 3, 4]]
    ids = greedy_search(scripted_step(script), tf.constant(0), 1, 4)
    np.testing.assert_array_equal(ids, [[3, 4, 5, 6]])


def test_runs_inside_one_compiled_graph():
    script = [[5, EOS_ID, 7], [6, 6, EOS_ID]]
    traced = tf.function(
        lambda: greedy_search(scripted_step(script), tf.constant(0), 2, tf.constant(3))
    )
    np.testing.assert_array_equal(traced(), [[5, EOS_ID, 0], [6, 6, EOS_ID]])
    graph = traced.get_concrete_function().graph
    assert any(op.type in ("While", "StatelessWhile") for op in graph.get_operations())
