"""The output-mode contract of Keras' recurrent layers, against an independent NumPy reference.

For random weights and inputs of shape (batch, time, features), each combination of
`return_sequences` and `return_state` returns exactly what the seed notebooks say; the
expected values come from tests/numpy_rnn.py, never from Keras.
"""

import keras
import numpy as np
import pytest

import numpy_rnn
from seq2seq import build_model, compose_config
from seq2seq.model.recurrent import CELLS, STATE_COUNT

BATCH, TIME, FEATURES, UNITS = 2, 5, 3, 4
ATOL = 1e-5


def random_inputs(seed=0):
    return np.random.default_rng(seed).normal(size=(BATCH, TIME, FEATURES)).astype("float32")


def randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(0, 0.5, weight.shape))


#: The framework's layers (FusedLSTM for lstm) and Keras' own LSTM, checked alike.
LAYERS = {**CELLS, "keras lstm": keras.layers.LSTM}


def make_layer(cell, **flags):
    layer = LAYERS[cell](UNITS, **flags)
    layer.build((None, None, FEATURES))
    randomize(layer)
    return layer


def as_list(result):
    return [np.asarray(t) for t in (result if isinstance(result, (list, tuple)) else [result])]


@pytest.mark.parametrize("layer_name", ["lstm", "keras lstm", "gru", "rnn"])
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("state", [False, True])
def test_four_output_modes_match_the_numpy_reference(layer_name, sequences, state):
    x = random_inputs()
    cell = layer_name.split()[-1]
    layer = make_layer(layer_name, return_sequences=sequences, return_state=state)
    got = as_list(layer(x))
    all_h, final = numpy_rnn.run(cell, x, layer.get_weights())
    last_h = all_h[:, -1]
    expected_output = all_h if sequences else last_h
    expected = [expected_output] + (final if state else [])
    # neither -> last h (batch, units); sequences -> (batch, time, units);
    # states -> [output, h] (+ c for LSTM); both -> [all h, h] (+ c).
    assert len(got) == 1 + (STATE_COUNT[cell] if state else 0)
    assert got[0].shape == ((BATCH, TIME, UNITS) if sequences else (BATCH, UNITS))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=ATOL)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_identities_between_outputs_and_states(cell):
    x = random_inputs(1)
    last_only = make_layer(cell, return_state=True)
    output, state_h, *_ = as_list(last_only(x))
    np.testing.assert_array_equal(output, state_h)  # without sequences, output is state_h
    both = make_layer(cell, return_sequences=True, return_state=True)
    sequence, state_h, *_ = as_list(both(x))
    np.testing.assert_array_equal(sequence[:, -1], state_h)  # the last step is state_h


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_returns_forward_and_backward_states(cell):
    x = random_inputs(2)
    layer = keras.layers.Bidirectional(CELLS[cell](UNITS, return_sequences=True, return_state=True))
    layer.build((None, None, FEATURES))
    randomize(layer)
    got = as_list(layer(x))
    # LSTM: output, forward h, forward c, backward h, backward c.
    assert len(got) == 1 + 2 * STATE_COUNT[cell]
    forward_h, forward_state = numpy_rnn.run(cell, x, layer.forward_layer.get_weights())
    backward_h, backward_state = numpy_rnn.run(
        cell, x, layer.backward_layer.get_weights(), go_backwards=True
    )
    # Backward outputs are put back in time order before the concatenation.
    expected_output = np.concatenate([forward_h, backward_h[:, ::-1]], axis=-1)
    np.testing.assert_allclose(got[0], expected_output, atol=ATOL)
    for g, e in zip(got[1:], forward_state + backward_state):
        np.testing.assert_allclose(g, e, atol=ATOL)


@pytest.mark.parametrize("layer_name", ["lstm", "keras lstm", "gru", "rnn"])
def test_masked_steps_leave_the_state_unchanged(layer_name):
    x = random_inputs(3)
    cell = layer_name.split()[-1]
    lengths = np.array([2, 4])
    mask = np.arange(TIME)[None, :] < lengths[:, None]
    layer = make_layer(layer_name, return_sequences=True, return_state=True)
    sequence, *state = as_list(layer(x, mask=mask))
    for row, length in enumerate(lengths):
        # The final state is that of the last real token: the unpadded prefix alone.
        _, prefix_state = numpy_rnn.run(cell, x[row : row + 1, :length], layer.get_weights())
        for got, expected in zip(state, prefix_state):
            np.testing.assert_allclose(got[row], expected[0], atol=ATOL)
    _, reference_state = numpy_rnn.run(cell, x, layer.get_weights(), mask=mask)
    for got, expected in zip(state, reference_state):
        np.testing.assert_allclose(got, expected, atol=ATOL)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_model_teacher_forced_logits_match_the_numpy_reference(num_layers):
    keras.utils.set_random_seed(0)
    cfg = compose_config(
        [f"model.num_layers={num_layers}", "model.units=6", "model.embedding_dim=5"]
    )
    model = build_model(cfg.model, vocab_size=9)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(0, 0.5, weight.shape))
    source = rng.integers(3, 9, size=(3, 6)).astype("int32")
    source[0, 2:] = 0
    source[1, 4:] = 0
    target = rng.integers(3, 9, size=(3, 5)).astype("int32")
    target[:, 0] = 1
    got = model({"encoder_token_ids": source, "decoder_token_ids": target})
    expected = numpy_rnn.lstm_model_logits(model, source, target)
    np.testing.assert_allclose(got, expected, atol=1e-4)
