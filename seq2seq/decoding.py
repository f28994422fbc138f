"""Decoding inside the graph: a `tf.while_loop` over steps for the whole batch.

A strategy sees the model only through one step callback,
`step_fn(token_ids (batch,), state) -> (logits (batch, vocab), state)`, so it can be
tested with a fake step and used with any model that provides `decode_step`.
"""

from typing import Callable, Tuple

import tensorflow as tf

from seq2seq.vocab import BOS_ID, EOS_ID, PAD_ID

StepFn = Callable[[tf.Tensor, object], Tuple[tf.Tensor, object]]


def greedy_search(step_fn: StepFn, state, batch_size, max_len) -> tf.Tensor:
    """Feeds back the most likely token at each step, starting from BOS.

    Each sequence stops at its own EOS and is padded after it; the loop ends once every
    sequence has ended, or after `max_len` steps.

    Args:
        step_fn: the step callback (see the module docstring).
        state: the initial state for `step_fn`.
        batch_size: int or int32 scalar tensor.
        max_len: int or int32 scalar tensor: the most tokens to emit, EOS included.

    Returns:
        int32 (batch, max_len): decoded ids, EOS included, PAD after it.
    """
    tokens = tf.fill([batch_size], tf.constant(BOS_ID, tf.int32))
    finished = tf.zeros([batch_size], tf.bool)
    emitted = tf.TensorArray(tf.int32, size=0, dynamic_size=True)

    def not_done(t, tokens, finished, state, emitted):
        return tf.logical_and(t < max_len, tf.logical_not(tf.reduce_all(finished)))

    def step(t, tokens, finished, state, emitted):
        logits, state = step_fn(tokens, state)
        next_tokens = tf.argmax(logits, axis=-1, output_type=tf.int32)
        next_tokens = tf.where(finished, PAD_ID, next_tokens)
        finished = tf.logical_or(finished, tf.equal(next_tokens, EOS_ID))
        return t + 1, next_tokens, finished, state, emitted.write(t, next_tokens)

    steps, _, _, _, emitted = tf.while_loop(
        not_done, step, (tf.constant(0), tokens, finished, state, emitted)
    )
    ids = tf.transpose(emitted.stack())
    ids = tf.reshape(ids, [batch_size, steps])  # keeps the shape when no step ran
    return tf.pad(ids, [[0, 0], [0, max_len - steps]], constant_values=PAD_ID)


def greedy_decode(model, encoder_token_ids: tf.Tensor, max_len) -> tf.Tensor:
    """Greedy decoding of a batch of sources with a Seq2Seq model.

    Args:
        model: a model with `encode`, `initial_decoder_state` and `decode_step`.
        encoder_token_ids: int32 (batch, source_len), padded with PAD.
        max_len: the most tokens to emit per sequence, EOS included.

    Returns:
        int32 (batch, max_len) token ids, EOS included, PAD after it.
    """
    encoded = model.encode(encoder_token_ids, training=False)

    def step_fn(token_ids, state):
        return model.decode_step(token_ids, state, encoded)

    batch_size = tf.shape(encoder_token_ids)[0]
    return greedy_search(step_fn, model.initial_decoder_state(encoded), batch_size, max_len)
