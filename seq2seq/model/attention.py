"""Global attention of each decoder step over the encoder's outputs."""

import keras
from keras import ops

from seq2seq.config.constraints import choices
from seq2seq.config.schema import ModelConfig
from seq2seq.model.recurrent import check_choice, check_positive

#: The attention scores, as `model.attention` names them.
ATTENTIONS = choices(ModelConfig, "attention")


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
        check_choice("kind", kind, ATTENTIONS)
        check_positive("units", units)
        self.kind = kind
        self.units = units
        self.memory_projection = keras.layers.Dense(units, use_bias=False, name="memory_projection")
        if kind == "luong":
            self.query_projection = None
            self.score = keras.layers.Attention(name="score")
        else:
            self.query_projection = keras.layers.Dense(
                units, use_bias=False, name="query_projection"
            )
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
