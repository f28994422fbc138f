"""FusedLSTM gives what keras.layers.LSTM gives: outputs, states and gradients; it fuses
only under bfloat16, where it measured faster.

The contract tests check both against NumPy; these compare the two layers directly on
what FusedLSTM does differently: trailing padding, rows with no real step, reversed
direction, long sequences (the while loop), graph mode, gradients and mixed precision.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.model import fused_lstm
from seq2seq.model.fused_lstm import FusedLSTM
from seq2seq.training.compile import dtype_policy

BATCH, FEATURES, UNITS = 3, 5, 6


@pytest.fixture(autouse=True)
def fused_in_float32(monkeypatch):
    """The fused loop in float32 too (by default it runs under bfloat16 only), so that
    it can be compared with Keras' loop exactly."""
    monkeypatch.setattr(fused_lstm, "FUSED_DTYPES", ("bfloat16", "float32"))


def test_by_default_float32_keeps_keras_loop_and_bfloat16_fuses(monkeypatch):
    monkeypatch.setattr(fused_lstm, "FUSED_DTYPES", ("bfloat16",))
    plain = FusedLSTM(UNITS)
    with dtype_policy("mixed_bfloat16"):
        mixed = FusedLSTM(UNITS)
    assert not plain._fused(training=False) and mixed._fused(training=False)


def twins(**flags):
    """A FusedLSTM and a keras LSTM with the same random weights."""
    fused, plain = FusedLSTM(UNITS, **flags), keras.layers.LSTM(UNITS, **flags)
    for layer in (fused, plain):
        layer.build((None, None, FEATURES))
    rng = np.random.default_rng(0)
    for a, b in zip(fused.weights, plain.weights):
        value = rng.normal(0, 0.5, a.shape)
        a.assign(value)
        b.assign(value)
    return fused, plain


def inputs(time, lengths=None, seed=1):
    x = np.random.default_rng(seed).normal(size=(BATCH, time, FEATURES)).astype("float32")
    mask = None if lengths is None else np.arange(time)[None, :] < np.array(lengths)[:, None]
    return x, mask


def call_both(flags, x, mask, compiled=False):
    fused, plain = twins(**flags)
    results = []
    for layer in (fused, plain):

        def call(x, layer=layer):
            return layer(x, mask=mask)

        out = (tf.function(call) if compiled else call)(tf.constant(x))
        results.append([np.asarray(t) for t in tf.nest.flatten(out)])
    return results


@pytest.mark.parametrize("time", [4, fused_lstm.MAX_UNROLL + 3])  # unrolled, while loop
@pytest.mark.parametrize("lengths", [None, [4, 2, 1], [4, 0, 3]])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("compiled", [False, True])
def test_same_outputs_and_states_as_keras(time, lengths, go_backwards, compiled):
    x, mask = inputs(time, lengths)
    flags = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    fused, plain = call_both(flags, x, mask, compiled)
    assert len(fused) == len(plain) == 3
    for f, p in zip(fused, plain):
        np.testing.assert_allclose(f, p, atol=1e-5)


@pytest.mark.parametrize("sequences", [False, True])
def test_same_gradients_as_keras(sequences):
    x, mask = inputs(7, [7, 3, 5])
    fused, plain = twins(return_sequences=sequences, return_state=True)
    grads = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            out, h, c = layer(tf.constant(x), mask=mask)
            loss = tf.reduce_sum(out**2) + tf.reduce_sum(h * c)
        grads.append(tape.gradient(loss, layer.trainable_weights))
    for f, p in zip(*grads):
        np.testing.assert_allclose(np.asarray(f), np.asarray(p), atol=1e-4)


def test_a_mask_with_a_gap_is_refused_not_misread():
    x, _ = inputs(4)
    mask = np.array([[True, False, True, False]] * BATCH)
    fused, _ = twins(return_state=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="trailing padding"):
        fused(x, mask=mask)


def test_mixed_bfloat16_stays_close_to_float32():
    x, mask = inputs(6, [6, 4, 2])
    with dtype_policy("mixed_bfloat16"):
        fused, plain = twins(return_sequences=True)
        assert fused.compute_dtype == "bfloat16"
        got = np.asarray(fused(x, mask=mask), dtype="float32")
    expected = np.asarray(plain(x, mask=mask))
    np.testing.assert_allclose(got, expected, atol=0.05)


def test_keras_own_loop_where_the_fused_one_does_not_apply(monkeypatch):
    """On a GPU (cuDNN) and with recurrent dropout, Keras' loop runs."""
    calls = []
    original = keras.layers.LSTM.inner_loop

    def spy(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.layers.LSTM, "inner_loop", spy)
    x, _ = inputs(3)
    fused, _ = twins()
    fused(x)
    assert calls == []
    monkeypatch.setattr(fused_lstm, "_has_gpu", lambda: True)
    fused(x)
    assert calls == [fused.name]
    monkeypatch.setattr(fused_lstm, "_has_gpu", lambda: False)
    dropping = FusedLSTM(UNITS, recurrent_dropout=0.5)
    dropping(x, training=True)
    assert calls == [fused.name, dropping.name]


def test_keras_still_runs_the_loop_through_inner_loop(monkeypatch):
    """FusedLSTM replaces Keras' internal `inner_loop`; if a Keras upgrade stops calling
    it, the fused loop would silently never run: this fails instead."""
    calls = []
    original = FusedLSTM.inner_loop

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FusedLSTM, "inner_loop", counting)
    layer = FusedLSTM(4, name="counted")
    layer(np.zeros((2, 3, 5), "float32"))
    assert calls == ["counted"]
