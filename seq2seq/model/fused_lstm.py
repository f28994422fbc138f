"""A Keras LSTM layer with a faster CPU loop: input projection hoisted, short sequences unrolled.

Keras' LSTM on a CPU runs its cell once per step inside a `tf.while_loop`, multiplying
each step's input by the kernel separately, and blends every state with the mask at
every step. `FusedLSTM` is the same layer (same weights, flags, results and serialized
form: a subclass of `keras.layers.LSTM`) with another inner loop on CPU:

- the input projection `x W + b` of all steps is one large matmul before the loop;
- sequences with a static length up to `MAX_UNROLL` steps are unrolled into one graph
  (no loop bookkeeping); longer or unknown lengths use a `tf.while_loop`;
- a mask costs nothing per step: the loop runs unmasked and the states are then read
  at each sequence's last real step. Keras' results follow: the final states are those
  of the last real token, and each padded step's output repeats the last real one.
  This needs trailing padding (every sequence real up to its length, padded after), as
  the framework's batches are and as Keras' cuDNN kernel needs too; a mask with a gap
  fails with an error rather than give other results. With `go_backwards` (the
  backward half of Bidirectional) the padding comes first, and the mask is blended
  step by step, as Keras does.

A branch (`tf.cond`) between the two mask paths measured slower than either alone,
hence the check instead.

Where Keras has a better kernel (cuDNN on a GPU), where this loop measured no faster
(float32: see FUSED_DTYPES) or where it lacks something (dropout inside the cell, other
activations), it defers to Keras' own loop.
benchmarks/training.py measures the difference.

This reaches into Keras: `inner_loop` is the internal method through which Keras' LSTM
runs its loop (not public API; Keras 3.15). Keras offers no public hook to replace the
loop, so this module checks at import that the method is still there, and
tests/model/test_fused_lstm.py checks that Keras still calls it.
"""

import keras
import tensorflow as tf

if not callable(getattr(keras.layers.LSTM, "inner_loop", None)):
    raise ImportError(
        f"keras {keras.__version__}: keras.layers.LSTM has no inner_loop; FusedLSTM overrides "
        "it and needs updating for this Keras version"
    )

#: Sequences up to this many steps are unrolled; longer ones loop.
MAX_UNROLL = 32
#: Compute dtypes the fused loop runs in. Measured on a 2-core AVX-512/AMX CPU (`make
#: bench`, benchmarks/training.py): in bfloat16 it trained 1.2x faster than Keras' own
#: loop; in float32 it was no faster (0.95-1.06x across runs; 18.1 s against 17.2 s for
#: an epoch of the default run), so float32 keeps Keras' loop.
FUSED_DTYPES = ("bfloat16",)


def _has_gpu() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def _is_trailing_padding(mask):
    """Whether every row of a bool (batch, time) mask is True up to a point, then False."""
    return tf.reduce_all(tf.logical_or(mask[:, :-1], tf.logical_not(mask[:, 1:])))


@keras.saving.register_keras_serializable(package="seq2seq")
class FusedLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with a hoisted, unrolled CPU loop; same arguments and results."""

    def _fused(self, training) -> bool:
        cell = self.cell
        return (
            self.compute_dtype in FUSED_DTYPES
            and not _has_gpu()
            and not (training and (cell.dropout or cell.recurrent_dropout))
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and cell.use_bias
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._fused(training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.go_backwards:
            sequences = tf.reverse(sequences, axis=[1])
            mask = None if mask is None else tf.reverse(mask, axis=[1])
        if mask is not None and not self.go_backwards:
            check = tf.debugging.Assert(
                _is_trailing_padding(mask),
                ["FusedLSTM needs a mask of trailing padding: real steps, then padding"],
            )
            with tf.control_dependencies([check]):
                sequences = tf.identity(sequences)
            return self._run_then_pick(sequences, initial_state, mask)
        return self._run(sequences, initial_state, mask)

    def _run(self, sequences, initial_state, mask):
        """The loop, blending the states with the mask at each step (if there is one).

        Returns:
            `(last_output, outputs, [h, c])` as Keras' `inner_loop` does.
        """
        h_all, _, h, c = self._loop(sequences, initial_state, mask, self.return_sequences)
        return h, (h_all if self.return_sequences else h), [h, c]

    def _run_then_pick(self, sequences, initial_state, mask):
        """Trailing padding: an unmasked loop, then the states at each last real step."""
        h_all, c_all, _, _ = self._loop(sequences, initial_state, None, keep_all=True)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        last = tf.maximum(lengths - 1, 0)
        empty = (lengths == 0)[:, None]  # a row with no real step keeps its initial state
        h = tf.where(empty, initial_state[0], tf.gather(h_all, last, batch_dims=1))
        c = tf.where(empty, initial_state[1], tf.gather(c_all, last, batch_dims=1))
        if not self.return_sequences:
            return h, h, [h, c]
        # Padded steps repeat the last real output, as Keras' masked loop does.
        steps = tf.minimum(tf.range(tf.shape(h_all)[1])[None, :], last[:, None])
        outputs = tf.gather(h_all, steps, batch_dims=1)
        outputs = tf.where(empty[:, :, None], tf.zeros_like(outputs), outputs)
        return h, outputs, [h, c]

    def _loop(self, sequences, initial_state, mask, keep_all):
        """Runs the steps.

        Returns:
            `(h_all, c_all, h, c)`: h and c at every step, (batch, time, units), when
            `keep_all` (else None), and after the last step.
        """
        cell = self.cell
        projected = tf.tensordot(sequences, cell.kernel, axes=1) + cell.bias
        h, c = initial_state
        steps = sequences.shape[1]
        if steps is None or steps > MAX_UNROLL:
            return self._while_loop(projected, h, c, mask)
        # Unstacked once: slicing step by step would make each step's gradient a
        # full-size tensor.
        inputs = tf.unstack(projected, axis=1)
        masks = [None] * steps if mask is None else tf.unstack(mask, axis=1)
        hs, cs = [], []
        for step_input, step_mask in zip(inputs, masks):
            h, c = self._step(step_input, h, c, step_mask)
            if keep_all:
                hs.append(h)
                cs.append(c)
        if not keep_all:
            return None, None, h, c
        return tf.stack(hs, axis=1), tf.stack(cs, axis=1), h, c

    def _step(self, projected, h, c, mask):
        z = projected + tf.matmul(h, self.cell.recurrent_kernel)
        i, f, g, o = tf.split(z, 4, axis=-1)
        new_c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        new_h = tf.sigmoid(o) * tf.tanh(new_c)
        if mask is None:
            return new_h, new_c
        # Masked (padded) steps carry the state through unchanged.
        keep = mask[:, None]
        return tf.where(keep, new_h, h), tf.where(keep, new_c, c)

    def _while_loop(self, projected, h, c, mask):
        steps = tf.shape(projected)[1]
        time_major = tf.transpose(projected, [1, 0, 2])
        mask_major = None if mask is None else tf.transpose(mask, [1, 0])
        h_steps = tf.TensorArray(h.dtype, size=steps)
        c_steps = tf.TensorArray(c.dtype, size=steps)

        def body(t, h, c, h_steps, c_steps):
            step_mask = None if mask_major is None else mask_major[t]
            h, c = self._step(time_major[t], h, c, step_mask)
            return t + 1, h, c, h_steps.write(t, h), c_steps.write(t, c)

        # Bounded: the gradient keeps each step's values in lists sized by
        # `maximum_iterations`, which XLA needs to know ("XLA compilation requires a
        # fixed tensor list size" without it); the batch's length is known when XLA
        # compiles, as it compiles per shape.
        _, h, c, h_steps, c_steps = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), h, c, h_steps, c_steps),
            maximum_iterations=steps,
        )
        batch_major = [tf.transpose(s.stack(), [1, 0, 2]) for s in (h_steps, c_steps)]
        return batch_major[0], batch_major[1], h, c
