"""Decoding inside the graph: a `tf.while_loop` over steps for the whole batch.

A strategy sees the model only through one step callback,
`step_fn(token_ids (batch,), state) -> (logits (batch, vocab), state)`, so it can be
tested with a fake step and used with any model that provides `decode_step`. The state
is any nested structure of tensors whose first dimension is the batch (an LSTM's
[h, c] per layer): beam search reorders it along that dimension.

Every strategy starts from BOS, stops each sequence at its own EOS (padding after it),
ends the loop once every sequence has ended or after `max_len` steps, and returns int32
(batch, max_len) token ids, EOS included.

keras_hub's samplers were tried on this state cache (benchmarks/decoding.py); they keep
extending a sequence after its EOS until every sequence has one, and their beam search
has no length penalty and keeps scoring finished beams, so the strategies here are the
framework's own.
"""

from typing import Callable, Tuple

import tensorflow as tf

from seq2seq.vocab import BOS_ID, EOS_ID, PAD_ID

StepFn = Callable[[tf.Tensor, object], Tuple[tf.Tensor, object]]
STRATEGIES = ("greedy", "beam", "sample")


def _pad_to(ids, batch_size, steps, max_len):
    ids = tf.reshape(ids, [batch_size, steps])  # keeps the shape when no step ran
    return tf.pad(ids, [[0, 0], [0, max_len - steps]], constant_values=PAD_ID)


def _token_by_token(choose, step_fn, state, batch_size, max_len) -> tf.Tensor:
    """The loop shared by greedy search and sampling: one token per sequence per step.

    Args:
        choose: `(logits, t) -> token ids (batch,)`.
    """
    tokens = tf.fill([batch_size], tf.constant(BOS_ID, tf.int32))
    finished = tf.zeros([batch_size], tf.bool)
    emitted = tf.TensorArray(tf.int32, size=0, dynamic_size=True)

    def not_done(t, tokens, finished, state, emitted):
        return tf.logical_and(t < max_len, tf.logical_not(tf.reduce_all(finished)))

    def step(t, tokens, finished, state, emitted):
        logits, state = step_fn(tokens, state)
        next_tokens = tf.where(finished, PAD_ID, choose(logits, t))
        finished = tf.logical_or(finished, tf.equal(next_tokens, EOS_ID))
        return t + 1, next_tokens, finished, state, emitted.write(t, next_tokens)

    steps, _, _, _, emitted = tf.while_loop(
        not_done, step, (tf.constant(0), tokens, finished, state, emitted)
    )
    return _pad_to(tf.transpose(emitted.stack()), batch_size, steps, max_len)


def greedy_search(step_fn: StepFn, state, batch_size, max_len) -> tf.Tensor:
    """Feeds back the most likely token at each step.

    Args:
        step_fn: the step callback (see the module docstring).
        state: the initial state for `step_fn`.
        batch_size: int or int32 scalar tensor.
        max_len: int or int32 scalar tensor: the most tokens to emit, EOS included.

    Returns:
        int32 (batch, max_len): decoded ids, EOS included, PAD after it.
    """

    def most_likely(logits, t):
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    return _token_by_token(most_likely, step_fn, state, batch_size, max_len)


def sample(step_fn: StepFn, state, batch_size, max_len, temperature=1.0, top_k=0, seed=0):
    """Draws each token from the softmax of `logits / temperature`.

    Args:
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
        top_k: draw among the k most likely tokens only; 0 draws among all.
        seed: with the step index, seeds a stateless draw: the same seed gives the same
            sequences.
        Others as `greedy_search`.

    Returns:
        int32 (batch, max_len): decoded ids, EOS included, PAD after it.
    """

    def draw(logits, t):
        logits = logits / temperature
        if top_k:
            kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
            logits = tf.where(logits < kth, tf.constant(-1e9, logits.dtype), logits)
        seeds = tf.stack([tf.cast(seed, tf.int32), t])
        drawn = tf.random.stateless_categorical(logits, 1, seed=seeds, dtype=tf.int32)
        return drawn[:, 0]

    return _token_by_token(draw, step_fn, state, batch_size, max_len)


def length_penalty(lengths, alpha):
    """GNMT's length penalty ((5 + length) / 6) ** alpha; alpha 0 turns it off."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def beam_search(
    step_fn: StepFn, state, batch_size, max_len, beam_size=5, alpha=0.0
) -> tf.Tensor:
    """Keeps the `beam_size` best partial sequences of each batch row; returns the best.

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
        Others as `greedy_search`.

    Returns:
        int32 (batch, max_len): the best hypothesis of each row, EOS included, PAD after.
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
        log_probs = tf.reshape(tf.nn.log_softmax(logits), [batch_size, k, vocab])
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
    best = tf.argmax(scores / length_penalty(lengths, alpha), axis=-1, output_type=tf.int32)
    ids = tf.gather(sequences, best, batch_dims=1)
    return _pad_to(ids, batch_size, steps, max_len)


def _batch_free_shape(tensor):
    return tf.TensorShape([None]).concatenate(tensor.shape[1:])


def repeat_beams(structure, beam_size):
    """Repeats every tensor of a nested structure `beam_size` times along the batch axis."""
    return tf.nest.map_structure(lambda t: tf.repeat(t, beam_size, axis=0), structure)


def decode(model, encoder_token_ids, max_len, strategy="greedy", **options) -> tf.Tensor:
    """Decodes a batch of sources with a Seq2Seq model.

    Args:
        model: a model with `encode`, `initial_decoder_state` and `decode_step`.
        encoder_token_ids: int32 (batch, source_len), padded with PAD.
        max_len: the most tokens to emit per sequence, EOS included.
        strategy: `greedy`, `beam` or `sample`.
        **options: `beam_size` and `alpha` for beam; `temperature`, `top_k` and `seed`
            for sample.

    Returns:
        int32 (batch, max_len) token ids, EOS included, PAD after it.
    """
    encoded = model.encode(encoder_token_ids, training=False)
    state = model.initial_decoder_state(encoded)
    batch_size = tf.shape(encoder_token_ids)[0]
    if strategy == "beam":
        encoded = repeat_beams(encoded, options["beam_size"])

    def step_fn(token_ids, state):
        return model.decode_step(token_ids, state, encoded)

    if strategy == "greedy":
        return greedy_search(step_fn, state, batch_size, max_len)
    if strategy == "beam":
        return beam_search(step_fn, state, batch_size, max_len, **options)
    if strategy == "sample":
        return sample(step_fn, state, batch_size, max_len, **options)
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={strategy!r}")


def greedy_decode(model, encoder_token_ids, max_len) -> tf.Tensor:
    """Greedy decoding of a batch of sources: `decode(..., strategy="greedy")`."""
    return decode(model, encoder_token_ids, max_len, "greedy")
