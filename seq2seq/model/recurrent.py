"""The recurrent stacks: the encoder and the decoder (the bridge and attention have files
of their own).

Output modes, per layer (the four combinations of `return_sequences` x `return_state`):

- encoder layers below the top: `return_sequences=True` (the next layer reads every
  step), with `return_state=True` where their states start the decoder's layers;
- encoder top layer: whatever the model family needs (`Encoder` arguments);
- decoder layers: both flags: every step's output (logits at every step under teacher
  forcing) and the states after the last step (carried from one decoding step to the next).
"""

import keras
from keras import ops

from seq2seq.config.constraints import choices, dispatch_table
from seq2seq.config.schema import ModelConfig
from seq2seq.model.fused_lstm import FusedLSTM

#: The recurrent layer of each `model.cell` (FusedLSTM is keras.layers.LSTM with a
#: faster CPU loop under bfloat16, and Keras' own loop otherwise).
CELLS = dispatch_table(
    "model.cell",
    choices(ModelConfig, "cell"),
    {"lstm": FusedLSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN},
)
#: How many state tensors each cell returns: LSTM [h, c]; GRU and SimpleRNN [h].
STATE_COUNT = dispatch_table(
    "model.cell", choices(ModelConfig, "cell"), {"lstm": 2, "gru": 1, "rnn": 1}
)


def check_positive(name: str, value) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {list(allowed)}. Received: {name}={value!r}")


def _check_dropout(value) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={value}")


def recurrent_layer(cell, units, return_sequences, return_state, bidirectional=False, name=None):
    """One recurrent layer of the given cell, optionally Bidirectional (outputs concatenated).

    A Bidirectional layer with `return_state=True` returns the forward states, then the
    backward ones: five tensors for an LSTM (output, h, c, h, c), three for GRU or RNN.
    """
    layer = CELLS[cell](
        units, return_sequences=return_sequences, return_state=return_state, name=name
    )
    if bidirectional:
        return keras.layers.Bidirectional(layer, name=f"bidirectional_{name}")
    return layer


class _RecurrentStack(keras.layers.Layer):
    """Stacked recurrent layers, dropout on each layer's input. Base of Encoder and Decoder."""

    def __init__(self, cell, units, num_layers, dropout, bidirectional, flags, **kwargs):
        super().__init__(**kwargs)
        check_choice("cell", cell, CELLS)
        check_positive("units", units)
        check_positive("num_layers", num_layers)
        _check_dropout(dropout)
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.dropouts = [
            keras.layers.Dropout(dropout, name=f"dropout_{k}") for k in range(num_layers)
        ]
        self.rnns = [
            recurrent_layer(cell, units, *flags(k), bidirectional=bidirectional, name=f"{cell}_{k}")
            for k in range(num_layers)
        ]

    @property
    def output_width(self) -> int:
        """Width of each layer's output: twice `units` when bidirectional."""
        return self.units * (2 if self.bidirectional else 1)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for rnn in self.rnns:
            rnn.build(shape)
            shape = shape[:-1] + (self.output_width,)
        self.built = True

    def _run(self, inputs, initial_states, padding_mask, training):
        outputs = inputs
        states = []
        for k, (dropout, rnn) in enumerate(zip(self.dropouts, self.rnns)):
            initial_state = None if initial_states is None else initial_states[k]
            result = rnn(
                dropout(outputs, training=training),
                initial_state=initial_state,
                mask=padding_mask,
                training=training,
            )
            if isinstance(result, (list, tuple)):
                outputs, *layer_states = result
            else:
                outputs, layer_states = result, []
            states.append(list(layer_states))
        return outputs, states

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=self.cell,
            units=self.units,
            num_layers=self.num_layers,
            dropout=self.dropout,
        )
        return config


@keras.saving.register_keras_serializable(package="seq2seq")
class Encoder(_RecurrentStack):
    """Reads the embedded source; returns its top layer's outputs and each layer's states.

    Args:
        cell: `lstm`, `gru` or `rnn`.
        units: width of every recurrent layer (per direction).
        num_layers: number of stacked layers.
        dropout: rate of dropout on each layer's input.
        bidirectional: wrap every layer in `Bidirectional` (outputs concatenated).
        return_sequences: whether the top layer returns every step, or only the last.
        return_state: whether every layer returns its final states.

    Call arguments:
        inputs: float (batch, time, features).
        padding_mask: bool (batch, time), False on padding; padded steps leave the
            states as they were, so the final states are those of the last real token.
        training: whether dropout is active.

    Returns:
        `(outputs, states)`: the top layer's outputs, (batch, time, width) or
        (batch, width), and a list with each layer's final states, bottom first (empty
        lists without `return_state`); bidirectional layers list forward states first.
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        return_sequences=False,
        return_state=True,
        **kwargs,
    ):
        def flags(k):
            return (k < num_layers - 1 or return_sequences), return_state

        super().__init__(cell, units, num_layers, dropout, bidirectional, flags, **kwargs)
        self.return_sequences = return_sequences
        self.return_state = return_state

    def call(self, inputs, padding_mask=None, training=None):
        return self._run(inputs, None, padding_mask, training)

    def get_config(self):
        config = super().get_config()
        config.update(
            bidirectional=self.bidirectional,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
        )
        return config


@keras.saving.register_keras_serializable(package="seq2seq")
class Decoder(_RecurrentStack):
    """Runs the decoder's inputs from given initial states; returns every step and the states.

    The same call serves teacher forcing (the whole target at once) and decoding
    (one step, time = 1, from the states of the previous step).

    Args:
        cell: `lstm`, `gru` or `rnn`.
        units: width of every recurrent layer.
        num_layers: number of stacked layers.
        dropout: rate of dropout on each layer's input.

    Call arguments:
        inputs: float (batch, time, features).
        initial_states: a list with each layer's states, bottom first.
        training: whether dropout is active.

    Returns:
        `(outputs, states)`: (batch, time, units) and the states after the last step.
    """

    def __init__(self, cell="lstm", units=128, num_layers=1, dropout=0.0, **kwargs):
        super().__init__(cell, units, num_layers, dropout, False, lambda k: (True, True), **kwargs)

    def call(self, inputs, initial_states, training=None):
        return self._run(inputs, initial_states, None, training)

    def step(self, inputs, states):
        """One step of every layer, as at inference (no dropout).

        Runs each layer's cell once: exactly one step of the layer with both flags
        (its output and its new states), without the layer's loop over time.

        Args:
            inputs: float (batch, features), this step's input.
            states: each layer's states, bottom first.

        Returns:
            `(output, states)`: the top layer's output (batch, units) and the new states.
        """
        output = inputs
        new_states = []
        for rnn, layer_states in zip(self.rnns, states):
            output, layer_states = rnn.cell(output, list(layer_states), training=False)
            new_states.append(
                list(layer_states) if isinstance(layer_states, (list, tuple)) else [layer_states]
            )
        return output, new_states


def repeat_over_time(vector, like):
    """`vector` (batch, width) repeated at every step of `like` (batch, time, ...).

    Keras' RepeatVector needs the count when the layer is made; target lengths vary
    from batch to batch (and are 1 when decoding step by step), so repeat to `like`.
    """
    return ops.repeat(ops.expand_dims(vector, 1), ops.shape(like)[1], axis=1)
