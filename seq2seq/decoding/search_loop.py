"""What the decoding strategies share: the step callback's type, and PAD to `max_len`.

Every strategy takes a `StepFn`. Only beam search pads with `pad_to`: its sequences grow
by one step per loop iteration (they are reordered along the beams each step), so it
pads them to `max_len` once the loop ends. Greedy search and sampling need no padding
afterwards: their loop writes into an output of full size from the start, PAD where no
step writes (`decoding._token_by_token`).
"""

from collections.abc import Callable

import tensorflow as tf

from seq2seq.text.vocabulary import PAD_ID

#: `step_fn(token_ids (batch,), state) -> (logits (batch, vocab), state)`.
StepFn = Callable[[tf.Tensor, object], tuple[tf.Tensor, object]]


def pad_to(ids, batch_size, steps, max_len) -> tf.Tensor:
    """Decoded ids of `steps` steps, padded with PAD to `max_len` steps."""
    ids = tf.reshape(ids, [batch_size, steps])  # keeps the shape when no step ran
    return tf.pad(ids, [[0, 0], [0, max_len - steps]], constant_values=PAD_ID)
