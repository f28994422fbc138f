"""The encoder-decoder model: teacher-forced training pass plus the pieces decoding uses.

    encoder_token_ids -> Embedding -> Encoder (LSTM, return_state=True) --[h, c] per layer--+
    decoder_token_ids -> Embedding -> Decoder (LSTM, return_sequences=True) <--initial_state-+
                                      -> Dense -> logits (batch, time, vocabulary)

The same Decoder layer runs the whole target under teacher forcing and one step at a
time in `decode_step`, so training and inference share every weight and every op.
"""

from typing import NamedTuple, Optional

import keras
from keras import ops

from seq2seq.layers import Decoder, Encoder
from seq2seq.vocab import PAD_ID


class EncoderOutput(NamedTuple):
    """What the decoder needs from the source.

    Attributes:
        states: one `[h, c]` per encoder layer, bottom first.
        memory: the top layer's outputs at every step, (batch, time, units), or None
            when the model does not attend to them.
        mask: bool (batch, time), False on padding.
    """

    states: list
    memory: Optional[keras.KerasTensor]
    mask: keras.KerasTensor


@keras.saving.register_keras_serializable(package="seq2seq")
class Seq2Seq(keras.Model):
    """Encoder-decoder LSTM over one shared token embedding.

    Args:
        vocab_size: number of token ids, special tokens included.
        units: width of every LSTM layer.
        embedding_dim: width of the token embedding.
        num_layers: LSTM layers on each side; encoder layer k starts decoder layer k.
        dropout: rate of dropout on every recurrent layer's input and on the logits' input.

    Call arguments:
        inputs: dict with `encoder_token_ids` int32 (batch, source_len) and
            `decoder_token_ids` int32 (batch, target_len): BOS then the target.
        training: whether dropout is active.

    Returns:
        logits, float32 (batch, target_len, vocab_size).
    """

    def __init__(
        self,
        vocab_size: int,
        units: int = 128,
        embedding_dim: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.units = units
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.dropout = dropout
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.encoder = Encoder(units, num_layers, dropout, name="encoder")
        self.decoder = Decoder(units, num_layers, dropout, name="decoder")
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        self.output_projection = keras.layers.Dense(vocab_size, name="logits")

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))
        self.decoder.build((None, None, self.embedding_dim))
        self.output_projection.build((None, None, self.units))
        self.built = True

    def encode(self, encoder_token_ids, training=None) -> EncoderOutput:
        """Runs the encoder over padded source ids.

        Returns:
            The encoder's final states (and memory, where the model uses one).
        """
        mask = ops.not_equal(encoder_token_ids, PAD_ID)
        embedded = self.embedding(encoder_token_ids)
        memory, states = self.encoder(embedded, padding_mask=mask, training=training)
        return EncoderOutput(states=states, memory=None, mask=mask)

    def initial_decoder_state(self, encoded: EncoderOutput) -> list:
        """The decoder's initial states: encoder layer k's `[h, c]` for decoder layer k."""
        return encoded.states

    def _decode(self, decoder_token_ids, states, training):
        embedded = self.embedding(decoder_token_ids)
        outputs, states = self.decoder(embedded, initial_states=states, training=training)
        logits = self.output_projection(self.output_dropout(outputs, training=training))
        return logits, states

    def call(self, inputs, training=None):
        encoded = self.encode(inputs["encoder_token_ids"], training=training)
        state = self.initial_decoder_state(encoded)
        logits, _ = self._decode(inputs["decoder_token_ids"], state, training)
        return logits

    def decode_step(self, token_ids, state, encoded: EncoderOutput):
        """One decoding step, as at inference: no dropout.

        Args:
            token_ids: int32 (batch,), the previous token of each sequence.
            state: the decoder states after the previous step.
            encoded: the output of `encode` for the same batch.

        Returns:
            `(logits, state)`: float32 (batch, vocab_size) and the states after this step.
        """
        logits, state = self._decode(token_ids[:, None], state, training=False)
        return logits[:, 0, :], state

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            units=self.units,
            embedding_dim=self.embedding_dim,
            num_layers=self.num_layers,
            dropout=self.dropout,
        )
        return config


def build_model(model_cfg, vocab_size: int) -> Seq2Seq:
    """Builds the model a `model` config group describes.

    Args:
        model_cfg: the `model` config group.
        vocab_size: number of token ids, special tokens included.

    Returns:
        A built (weights created) Seq2Seq model.
    """
    model = Seq2Seq(
        vocab_size=vocab_size,
        units=model_cfg.units,
        embedding_dim=model_cfg.embedding_dim,
        num_layers=model_cfg.num_layers,
        dropout=model_cfg.dropout,
        name=f"seq2seq_{model_cfg.name}",
    )
    model.build()
    return model
