"""Greedy search, beam search and sampling on fake step functions: no model needed to pin
down the loops; and greedy decoding of every family compiled by XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq import beam_search, greedy_search, sample
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, PAD_ID

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


# A Markov "model": the next token's probabilities depend only on the previous token.
# Greedy takes A (0.6) first and then cannot do better than 0.6 * 0.36 * ...; the best
# whole sequence is B EOS (0.4 * 0.9 = 0.36), which beam search finds.
A, B = 3, 4
TABLE = np.full((8, 8), 1e-6)
TABLE[BOS_ID, [A, B]] = [0.6, 0.4]
TABLE[A, [EOS_ID, A, B]] = [0.3, 0.36, 0.34]
TABLE[B, [EOS_ID, A]] = [0.9, 0.1]
TABLE[EOS_ID, EOS_ID] = 1.0
TABLE[PAD_ID, PAD_ID] = 1.0
TABLE = TABLE / TABLE.sum(axis=1, keepdims=True)
LOG_TABLE = tf.constant(np.log(TABLE), tf.float32)


def markov_step(token_ids, state):
    """Logits from the table; the state (batch, 1) only checks beam reordering shapes."""
    return tf.gather(LOG_TABLE, token_ids), state + 1.0


def markov_state(batch):
    return tf.zeros([batch, 1])


def test_beam_search_finds_the_more_likely_sequence_greedy_misses():
    greedy = greedy_search(markov_step, markov_state(2), 2, 6)
    beam = beam_search(markov_step, markov_state(2), 2, 6, beam_size=3)
    assert greedy.numpy()[0, 0] == A
    np.testing.assert_array_equal(beam, [[B, EOS_ID, 0, 0, 0, 0]] * 2)


def test_beam_of_one_is_greedy():
    greedy = greedy_search(markov_step, markov_state(3), 3, 6)
    np.testing.assert_array_equal(
        beam_search(markov_step, markov_state(3), 3, 6, beam_size=1), greedy
    )


def test_length_penalty_favours_longer_hypotheses():
    # Without a penalty B EOS (p 0.36) wins; with alpha 5, dividing by ((5 + n) / 6) ** 5
    # makes A A A A B EOS (p 0.0086, 6 tokens) the best finished hypothesis.
    short = beam_search(markov_step, markov_state(1), 1, 6, beam_size=4, alpha=0.0)
    long = beam_search(markov_step, markov_state(1), 1, 6, beam_size=4, alpha=5.0)
    np.testing.assert_array_equal(short, [[B, EOS_ID, 0, 0, 0, 0]])
    np.testing.assert_array_equal(long, [[A, A, A, A, B, EOS_ID]])


def test_beam_search_runs_in_one_graph_with_its_state_reordered():
    traced = tf.function(lambda: beam_search(markov_step, markov_state(2), 2, tf.constant(6), 3))
    np.testing.assert_array_equal(traced(), [[B, EOS_ID, 0, 0, 0, 0]] * 2)


def test_sampling_follows_the_distribution_and_is_seeded():
    first = sample(markov_step, markov_state(4000), 4000, 1, seed=1).numpy()[:, 0]
    assert abs(np.mean(first == A) - 0.6) < 0.03 and abs(np.mean(first == B) - 0.4) < 0.03
    again = sample(markov_step, markov_state(4000), 4000, 1, seed=1).numpy()[:, 0]
    other = sample(markov_step, markov_state(4000), 4000, 1, seed=2).numpy()[:, 0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_top_k_one_and_low_temperature_are_greedy():
    greedy = greedy_search(markov_step, markov_state(50), 50, 6)
    np.testing.assert_array_equal(sample(markov_step, markov_state(50), 50, 6, top_k=1), greedy)
    cold = sample(markov_step, markov_state(50), 50, 6, temperature=1e-3)
    np.testing.assert_array_equal(cold, greedy)


def test_sampled_sequences_stop_at_their_own_eos():
    ids = sample(markov_step, markov_state(200), 200, 8, seed=3).numpy()
    ended = [row for row in ids if EOS_ID in row]
    assert len(ended) > 100  # most draws end within 8 steps
    for row in ended:
        after = row[np.flatnonzero(row == EOS_ID)[0] + 1 :]
        assert np.all(after == PAD_ID)


#: The families after the first compile only under make test (about 2 s each on 2 cores):
#: make test-fast compiles the default one.
XLA_FAMILIES = [
    ["model=attention"],
    ["model=attention", "model.attention=bahdanau"],
    ["model=repeat_vector"],
    ["model.cell=gru", "model.num_layers=2"],
    ["model.bidirectional=true", "model.bridge=dense"],
]


@pytest.mark.parametrize(
    "overrides", [[], *(pytest.param(o, marks=pytest.mark.slow) for o in XLA_FAMILIES)]
)
def test_greedy_decoding_compiles_with_xla_to_the_same_tokens(overrides):
    """`tf.function(jit_compile=True)` around greedy decoding (docs/performance.md): no
    shape in the loop depends on the steps it ran, so XLA compiles it."""
    from seq2seq import build_model, compose_config, decode

    cfg = compose_config(["model.units=32", "model.embedding_dim=8", *overrides])
    keras.utils.set_random_seed(0)
    model = build_model(cfg.model, 12)
    sources = np.random.default_rng(0).integers(3, 12, size=(16, 7)).astype(np.int32)
    sources[:4, 5:] = PAD_ID  # shorter sources, padded

    def greedy(ids):
        return decode(model, ids, 9, "greedy")

    plain = tf.function(greedy)(sources).numpy()
    compiled = tf.function(greedy, jit_compile=True)(sources).numpy()
    np.testing.assert_array_equal(plain, compiled)
