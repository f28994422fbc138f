"""Encoder and decoder stacks of recurrent layers.

Every recurrent layer here returns its states (`return_state=True`): the encoder's
final states start the decoder, layer k to layer k, and the decoder's states carry
one decoding step to the next. The output modes per layer:

- encoder layers below the top: `return_sequences=True` (the next layer reads every step);
- encoder top layer: `return_sequences=False` unless its outputs are needed as memory;
- decoder layers: `return_sequences=True` (logits at every step under teacher forcing;
  one step at a time when decoding).
"""

from typing import List, Sequence

import keras

State = List[keras.KerasTensor]


def _check_positive(name: str, value) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")


def _check_dropout(value) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={value}")


class _RecurrentStack(keras.layers.Layer):
    """Layers of LSTMs with dropout on each layer's input. Base of Encoder and Decoder."""

    def __init__(self, units, num_layers, dropout, top_returns_sequences, **kwargs):
        super().__init__(**kwargs)
        _check_positive("units", units)
        _check_positive("num_layers", num_layers)
        _check_dropout(dropout)
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.dropouts = [
            keras.layers.Dropout(dropout, name=f"dropout_{k}") for k in range(num_layers)
        ]
        self.rnns = [
            keras.layers.LSTM(
                units,
                return_sequences=k < num_layers - 1 or top_returns_sequences,
                return_state=True,
                name=f"lstm_{k}",
            )
            for k in range(num_layers)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for rnn in self.rnns:
            rnn.build(shape)
            shape = shape[:-1] + (self.units,)
        self.built = True

    def _run(self, inputs, initial_states, padding_mask, training):
        outputs = inputs
        states = []
        for k, (dropout, rnn) in enumerate(zip(self.dropouts, self.rnns)):
            initial_state = None if initial_states is None else initial_states[k]
            outputs, *layer_state = rnn(
                dropout(outputs, training=training),
                initial_state=initial_state,
                mask=padding_mask,
                training=training,
            )
            states.append(layer_state)
        return outputs, states

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, num_layers=self.num_layers, dropout=self.dropout)
        return config


@keras.saving.register_keras_serializable(package="seq2seq")
class Encoder(_RecurrentStack):
    """Reads the embedded source; returns its outputs and every layer's final states.

    Args:
        units: width of every recurrent layer.
        num_layers: number of stacked layers.
        dropout: rate of dropout on each layer's input.
        return_sequences: whether the top layer returns every step (as attention
            memory) or only the last.

    Call arguments:
        inputs: float (batch, time, features).
        padding_mask: bool (batch, time), False on padding; padded steps leave the
            states as they were, so the final states are those of the last real token.
        training: whether dropout is active.

    Returns:
        `(outputs, states)`: the top layer's outputs, (batch, time, units) or
        (batch, units), and a list with one `[h, c]` per layer, bottom first.
    """

    def __init__(self, units, num_layers=1, dropout=0.0, return_sequences=False, **kwargs):
        super().__init__(units, num_layers, dropout, return_sequences, **kwargs)
        self.return_sequences = return_sequences

    def call(self, inputs, padding_mask=None, training=None):
        return self._run(inputs, None, padding_mask, training)

    def get_config(self):
        config = super().get_config()
        config.update(return_sequences=self.return_sequences)
        return config


@keras.saving.register_keras_serializable(package="seq2seq")
class Decoder(_RecurrentStack):
    """Runs the embedded target from given initial states, returning every step.

    The same call serves teacher forcing (the whole target at once) and decoding
    (one step, time = 1, with the states of the previous step).

    Args:
        units: width of every recurrent layer.
        num_layers: number of stacked layers.
        dropout: rate of dropout on each layer's input.

    Call arguments:
        inputs: float (batch, time, features).
        initial_states: a list with one `[h, c]` per layer, bottom first.
        training: whether dropout is active.

    Returns:
        `(outputs, states)`: (batch, time, units) and the states after the last step.
    """

    def __init__(self, units, num_layers=1, dropout=0.0, **kwargs):
        super().__init__(units, num_layers, dropout, True, **kwargs)

    def call(self, inputs, initial_states: Sequence[State], training=None):
        return self._run(inputs, initial_states, None, training)

