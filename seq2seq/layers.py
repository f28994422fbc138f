"""The building blocks: encoder and decoder stacks, the bridge between them, attention.

Output modes, per layer (the four combinations of `return_sequences` x `return_state`):

- encoder layers below the top: `return_sequences=True` (the next layer reads every
  step), with `return_state=True` where their states start the decoder's layers;
- encoder top layer: whatever the model family needs (`Encoder` arguments);
- decoder layers: both flags: every step's output (logits at every step under teacher
  forcing) and the states after the last step (carried from one decoding step to the next).
"""

from typing import List

import keras
from keras import ops

from seq2seq.fused_lstm import FusedLSTM
from seq2seq_config.validation import ATTENTIONS, BRIDGES

#: The recurrent layer of each `cell` name (FusedLSTM is keras.layers.LSTM with a
#: faster CPU loop under bfloat16, and Keras' own loop otherwise).
CELLS = {"lstm": FusedLSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
#: How many state tensors each cell returns: LSTM [h, c]; GRU and SimpleRNN [h].
STATE_COUNT = {"lstm": 2, "gru": 1, "rnn": 1}


def _check_positive(name: str, value) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}")


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
        _check_choice("cell", cell, CELLS)
        _check_positive("units", units)
        _check_positive("num_layers", num_layers)
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
        super().__init__(
            cell, units, num_layers, dropout, False, lambda k: (True, True), **kwargs
        )

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
            new_states.append(list(layer_states) if isinstance(layer_states, (list, tuple)) else [layer_states])
        return output, new_states


@keras.saving.register_keras_serializable(package="seq2seq")
class Bridge(keras.layers.Layer):
    """Turns the encoder's final states into the decoder's initial states, layer k to k.

    Args:
        kind: `copy` (as they are; same cell width, one direction), `concat` (forward
            and backward states joined; a bidirectional encoder into a decoder twice as
            wide), `dense` (a learned linear map per state; any widths), or `zeros`
            (no state passed).
        cell: the recurrent cell of both sides, which fixes the number of states.
        decoder_units: width of the decoder.
        num_layers: layers on each side.
        bidirectional: whether the encoder is bidirectional.

    Call arguments:
        encoder_states: the Encoder's states: per layer, forward then backward.
        batch_size: int or scalar tensor, for `zeros`.

    Returns:
        A list with each decoder layer's initial states.
    """

    def __init__(self, kind, cell, decoder_units, num_layers, bidirectional=False, **kwargs):
        super().__init__(**kwargs)
        _check_choice("kind", kind, BRIDGES)
        _check_choice("cell", cell, CELLS)
        self.kind = kind
        self.cell = cell
        self.decoder_units = decoder_units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.denses = []
        if kind == "dense":
            self.denses = [
                [
                    keras.layers.Dense(decoder_units, name=f"dense_{k}_{i}")
                    for i in range(STATE_COUNT[cell])
                ]
                for k in range(num_layers)
            ]

    def _per_state(self, layer_states: List) -> List:
        """One tensor per decoder state: forward and backward joined where there are both."""
        count = STATE_COUNT[self.cell]
        if not self.bidirectional:
            return list(layer_states)
        forward, backward = layer_states[:count], layer_states[count:]
        return [ops.concatenate([f, b], axis=-1) for f, b in zip(forward, backward)]

    def call(self, encoder_states, batch_size=None):
        if self.kind == "zeros":
            zeros = ops.zeros((batch_size, self.decoder_units))
            return [[zeros] * STATE_COUNT[self.cell] for _ in range(self.num_layers)]
        states = [self._per_state(layer_states) for layer_states in encoder_states]
        if self.kind == "dense":
            return [
                [dense(state) for dense, state in zip(denses, layer_states)]
                for denses, layer_states in zip(self.denses, states)
            ]
        return states

    def get_config(self):
        config = super().get_config()
        config.update(
            kind=self.kind,
            cell=self.cell,
            decoder_units=self.decoder_units,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
        )
        return config


@keras.saving.register_keras_serializable(package="seq2seq")
class Attention(keras.layers.Layer):
    """Global attention of each decoder step over the encoder's outputs (the memory).

    Scores come from Keras' own layers: `luong` is the multiplicative ("general") score
    `h W m` (keras.layers.Attention over projected memory), `bahdanau` the additive score
    `v tanh(W1 h + W2 m)` (keras.layers.AdditiveAttention over projected query and memory).
    Either way the context joins the decoder output in Luong's attentional state,
    `tanh(Wc [context; h])`, which feeds the logits; attention comes after the decoder
    LSTM, so each step's result depends only on that step's decoder output.

    Args:
        kind: `luong` or `bahdanau`.
        units: width of the decoder (and of the attentional state).

    Call arguments:
        query: the decoder's outputs, (batch, time, units).
        memory: the encoder's outputs, (batch, source_time, memory_width).
        memory_mask: bool (batch, source_time), False on padding (never attended).
        return_scores: also return the attention weights.

    Returns:
        The attentional state (batch, time, units), and with `return_scores` the
        weights (batch, time, source_time), each row summing to 1.
    """

    def __init__(self, kind="luong", units=128, **kwargs):
        super().__init__(**kwargs)
        _check_choice("kind", kind, ATTENTIONS)
        _check_positive("units", units)
        self.kind = kind
        self.units = units
        self.memory_projection = keras.layers.Dense(units, use_bias=False, name="memory_projection")
        if kind == "luong":
            self.query_projection = None
            self.score = keras.layers.Attention(name="score")
        else:
            self.query_projection = keras.layers.Dense(units, use_bias=False, name="query_projection")
            self.score = keras.layers.AdditiveAttention(name="score")
        self.combine = keras.layers.Dense(units, activation="tanh", name="combine")

    def call(self, query, memory, memory_mask=None, return_scores=False):
        keys = self.memory_projection(memory)
        projected_query = query if self.query_projection is None else self.query_projection(query)
        context, scores = self.score(
            [projected_query, memory, keys],
            mask=[None, memory_mask],
            return_attention_scores=True,
        )
        attended = self.combine(ops.concatenate([context, query], axis=-1))
        return (attended, scores) if return_scores else attended

    def get_config(self):
        config = super().get_config()
        config.update(kind=self.kind, units=self.units)
        return config


def repeat_over_time(vector, like):
    """`vector` (batch, width) repeated at every step of `like` (batch, time, ...).

    Keras' RepeatVector needs the count when the layer is made; target lengths vary
    from batch to batch (and are 1 when decoding step by step), so repeat to `like`.
    """
    return ops.repeat(ops.expand_dims(vector, 1), ops.shape(like)[1], axis=1)

