"""What every decoding strategy shares: the step callback's type and the output's padding."""

from collections.abc import Callable

import tensorflow as tf

from seq2seq.data.vocabulary import PAD_ID

#: `step_fn(token_ids (batch,), state) -> (logits (batch, vocab), state)`.
StepFn = Callable[[tf.Tensor, object], tuple[tf.Tensor, object]]


def pad_to(ids, batch_size, steps, max_len) -> tf.Tensor:
    """Decoded ids of `steps` steps, padded with PAD to `max_len` steps."""
    ids = tf.reshape(ids, [batch_size, steps])  # keeps the shape when no step ran
    return tf.pad(ids, [[0, 0], [0, max_len - steps]], constant_values=PAD_ID)
