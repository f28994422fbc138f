"""Beam search inside the graph: the `beam_size` best partial sequences of each source.

Like the other strategies (seq2seq/decoding/strategies.py) it sees the model only
through the step callback, so it is tested with a fake step.
"""

import tensorflow as tf

from seq2seq.decoding import token_rules
from seq2seq.decoding.search_loop import StepFn, pad_to
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, PAD_ID


def length_penalty(lengths, alpha):
    """GNMT's length penalty ((5 + length) / 6) ** alpha; alpha 0 turns it off."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def beam_search(
    step_fn: StepFn,
    state,
    batch_size,
    max_len,
    beam_size=5,
    alpha=0.0,
    rules: token_rules.TokenRules = token_rules.NO_RULES,
) -> tf.Tensor:
    """Keeps the `beam_size` best partial sequences of each batch row; returns the best.

    The best of `beam_search_n_best`, whose arguments it takes; see there.

    Returns:
        int32 (batch, max_len): the best hypothesis of each row, EOS included, PAD after.
    """
    ids, _ = beam_search_n_best(step_fn, state, batch_size, max_len, beam_size, alpha, 1, rules)
    return ids[:, 0]


def beam_search_n_best(
    step_fn: StepFn,
    state,
    batch_size,
    max_len,
    beam_size=5,
    alpha=0.0,
    n_best=1,
    rules: token_rules.TokenRules = token_rules.NO_RULES,
):
    """Keeps the `beam_size` best partial sequences of each batch row; returns the `n_best` best.

    Hypotheses are ranked by log-probability divided by `length_penalty(length, alpha)`;
    a hypothesis that has emitted EOS is finished: it keeps its score and length and
    only ever extends with PAD, at no cost.

    Args:
        state: the initial state for one copy of each row, (batch, ...); it is
            repeated `beam_size` times here, row-major: row b's beams are b*K .. b*K+K-1.
            Whatever `step_fn` closes over (attention memory) must be repeated the same
            way by the caller (`repeat_beams`).
        beam_size: hypotheses kept per row (K).
        alpha: length penalty exponent; larger favours longer sequences.
        n_best: how many of the K final hypotheses to return, best first (<= K).
        rules: the token rules (`token_rules.TokenRules`): the fewest tokens before a
            hypothesis may emit EOS; n > 0 forbids a hypothesis a token that would repeat
            one of its own n-grams, its history reordered with the beams, so that each
            candidate is checked against the hypothesis it extends.
        Others as `greedy_search`.

    The rules set the forbidden tokens' log-probabilities to -1e9 without renormalizing
    the others (as fairseq does): the scores stay the model's log-probabilities.

    Returns:
        `(ids, log_probs)`: int32 (batch, n_best, max_len), each row's `n_best` best
        hypotheses by their ranking score, EOS included, PAD after; and float32
        (batch, n_best), each one's log-probability (not length-penalized).
    """
    k = beam_size
    state = repeat_beams(state, k)
    neg_inf = tf.constant(-1e9, tf.float32)
    # Only the first beam is live at the start, so the K beams do not start as copies.
    scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], neg_inf)], 0)[None, :], [batch_size, 1])
    lengths = tf.zeros([batch_size, k], tf.int32)
    finished = tf.zeros([batch_size, k], tf.bool)
    sequences = tf.zeros([batch_size, k, 0], tf.int32)
    tokens = tf.fill([batch_size * k], tf.constant(BOS_ID, tf.int32))

    def not_done(t, tokens, scores, lengths, finished, sequences, state):
        return tf.logical_and(t < max_len, tf.logical_not(tf.reduce_all(finished)))

    def step(t, tokens, scores, lengths, finished, sequences, state):
        logits, state = step_fn(tokens, state)
        vocab = tf.shape(logits)[-1]
        log_probs = tf.nn.log_softmax(logits)
        history = tf.reshape(sequences, [batch_size * k, t])  # each beam's own tokens
        log_probs = token_rules.apply_rules(log_probs, history, t, rules, neg_inf)
        log_probs = tf.reshape(log_probs, [batch_size, k, vocab])
        # A finished hypothesis continues only with PAD, at no cost.
        pad_only = tf.where(tf.range(vocab) == PAD_ID, 0.0, neg_inf)
        log_probs = tf.where(finished[:, :, None], pad_only[None, None, :], log_probs)
        candidates = scores[:, :, None] + log_probs
        candidate_lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)
        ranked = candidates / length_penalty(candidate_lengths, alpha)[:, :, None]
        _, best = tf.math.top_k(tf.reshape(ranked, [batch_size, k * vocab]), k=k)
        beam = best // vocab
        next_tokens = best % vocab
        scores = tf.gather(tf.reshape(candidates, [batch_size, k * vocab]), best, batch_dims=1)
        lengths = tf.gather(candidate_lengths, beam, batch_dims=1)
        finished = tf.logical_or(
            tf.gather(finished, beam, batch_dims=1), tf.equal(next_tokens, EOS_ID)
        )
        sequences = tf.concat(
            [tf.gather(sequences, beam, batch_dims=1), next_tokens[:, :, None]], axis=2
        )
        rows = tf.reshape(beam + tf.range(batch_size)[:, None] * k, [-1])
        state = tf.nest.map_structure(lambda s: tf.gather(s, rows), state)
        return t + 1, tf.reshape(next_tokens, [-1]), scores, lengths, finished, sequences, state

    steps, _, scores, lengths, _, sequences, _ = tf.while_loop(
        not_done,
        step,
        (tf.constant(0), tokens, scores, lengths, finished, sequences, state),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k, None]),
            tf.nest.map_structure(_batch_free_shape, state),
        ),
    )
    _, best = tf.math.top_k(scores / length_penalty(lengths, alpha), k=n_best)
    ids = tf.gather(sequences, best, batch_dims=1)  # (batch, n_best, steps)
    flat = pad_to(tf.reshape(ids, [-1, steps]), batch_size * n_best, steps, max_len)
    return tf.reshape(flat, [batch_size, n_best, max_len]), tf.gather(scores, best, batch_dims=1)


def _batch_free_shape(tensor):
    return tf.TensorShape([None]).concatenate(tensor.shape[1:])


def repeat_beams(structure, beam_size):
    """Repeats every tensor of a nested structure `beam_size` times along the batch axis."""
    return tf.nest.map_structure(lambda t: tf.repeat(t, beam_size, axis=0), structure)
