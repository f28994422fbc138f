"""An independent NumPy implementation of the LSTM, GRU and SimpleRNN equations.

Written from the equations, not from Keras: the tests feed it a Keras layer's weights and
compare. Keras' conventions it follows: gate order i, f, c, o (LSTM) and z, r, h (GRU,
`reset_after=True`, two bias rows); `sigmoid` and `tanh`; masked steps carry the state
through unchanged.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(x, state, kernel, recurrent_kernel, bias):
    """One LSTM step: x (batch, features), state [h, c] -> ([h, c])."""
    h, c = state
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return [h, c]


def gru_step(x, state, kernel, recurrent_kernel, bias):
    """One GRU step in Keras' default form (reset gate applied after the matmul)."""
    (h,) = state
    input_bias, recurrent_bias = bias
    x_z, x_r, x_h = np.split(x @ kernel + input_bias, 3, axis=-1)
    h_z, h_r, h_h = np.split(h @ recurrent_kernel + recurrent_bias, 3, axis=-1)
    z = sigmoid(x_z + h_z)
    r = sigmoid(x_r + h_r)
    candidate = np.tanh(x_h + r * h_h)
    return [z * h + (1.0 - z) * candidate]


def rnn_step(x, state, kernel, recurrent_kernel, bias):
    """One SimpleRNN step: h = tanh(x W + h U + b)."""
    (h,) = state
    return [np.tanh(x @ kernel + h @ recurrent_kernel + bias)]


STEPS = {"lstm": (lstm_step, 2), "gru": (gru_step, 1), "rnn": (rnn_step, 1)}


def run(cell, inputs, weights, initial_state=None, mask=None, go_backwards=False):
    """Runs a recurrent layer over a sequence.

    Args:
        cell: `lstm`, `gru` or `rnn`.
        inputs: (batch, time, features).
        weights: [kernel, recurrent_kernel, bias] as Keras stores them.
        initial_state: list of (batch, units) arrays; zeros by default.
        mask: bool (batch, time); False steps keep the previous state and output.
        go_backwards: read the sequence from its last step (as a backward layer does);
            outputs are then in reading order.

    Returns:
        `(outputs, state)`: h at every step (batch, time, units), the final states.
    """
    step, count = STEPS[cell]
    kernel, recurrent_kernel, bias = (np.asarray(w, np.float64) for w in weights)
    batch, time, _ = inputs.shape
    units = recurrent_kernel.shape[0]
    state = initial_state or [np.zeros((batch, units)) for _ in range(count)]
    state = [np.asarray(s, np.float64) for s in state]
    mask = np.ones((batch, time), bool) if mask is None else np.asarray(mask, bool)
    order = range(time - 1, -1, -1) if go_backwards else range(time)
    outputs = []
    output = np.zeros((batch, units))
    for t in order:
        new_state = step(
            np.asarray(inputs[:, t], np.float64), state, kernel, recurrent_kernel, bias
        )
        keep = mask[:, t][:, None]
        state = [np.where(keep, new, old) for new, old in zip(new_state, state)]
        output = np.where(keep, new_state[0], output)
        outputs.append(output)
    return np.stack(outputs, axis=1), state


def dense(x, weights, activation=None):
    kernel, bias = weights
    y = x @ kernel + bias
    return np.tanh(y) if activation == "tanh" else y


def lstm_model_logits(model, encoder_token_ids, decoder_token_ids):
    """Teacher-forced logits of an `lstm`-family Seq2Seq, computed in NumPy from its weights.

    Embedding lookup; encoder layers in turn, masked on padding; encoder layer k's final
    states start decoder layer k (copy bridge); a Dense layer over the top decoder outputs.
    """
    embeddings = model.embedding.get_weights()[0]
    x = embeddings[encoder_token_ids]
    mask = encoder_token_ids != 0
    states = []
    for rnn in model.encoder.rnns:
        x, state = run(model.cell, x, rnn.get_weights(), mask=mask)
        states.append(state)
    y = embeddings[decoder_token_ids]
    for rnn, state in zip(model.decoder.rnns, states):
        y, _ = run(model.cell, y, rnn.get_weights(), initial_state=state)
    return dense(y, model.output_projection.get_weights())
