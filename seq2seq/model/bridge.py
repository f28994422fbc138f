"""The bridge: how the encoder's final states become the decoder's initial states."""

import keras
from keras import ops

from seq2seq.config.constraints import choices
from seq2seq.config.schema import ModelConfig
from seq2seq.model.recurrent import CELLS, STATE_COUNT, check_choice

#: The kinds of bridge, as `model.bridge` names them.
BRIDGES = choices(ModelConfig, "bridge")


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
        check_choice("kind", kind, BRIDGES)
        check_choice("cell", cell, CELLS)
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

    def _per_state(self, layer_states: list) -> list:
        """One tensor per decoder state: forward and backward joined where there are both."""
        count = STATE_COUNT[self.cell]
        if not self.bidirectional:
            return list(layer_states)
        forward, backward = layer_states[:count], layer_states[count:]
        return [ops.concatenate([f, b], axis=-1) for f, b in zip(forward, backward)]

    def call(self, encoder_states, batch_size=None):
        if self.kind == "zeros":
            zeros = ops.zeros((batch_size, self.decoder_units), dtype=self.compute_dtype)
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
