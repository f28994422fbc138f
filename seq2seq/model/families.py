"""The encoder-decoder models, one class per family, sharing one decoding interface.

    lstm (default)   encoder top layer return_state=True -> its states ([h, c] for an
                     LSTM cell, [h] for GRU and RNN) -> Bridge -> decoder
    repeat_vector    encoder top layer neither flag -> last h, repeated at every target
                     step as the decoder's input; the decoder starts from zeros
    attention        encoder top layer both flags -> all h is the memory of attention
                     after the decoder, final [h, c] -> Bridge -> decoder

Every family trains with teacher forcing through `call` and decodes through
`encode` / `initial_decoder_state` / `decode_step`, which run the same layers one step
at a time: training and inference share every weight and every equation. (The ops
differ where a layer's loop is not its cell's: under bfloat16, FusedLSTM's loop runs
the teacher-forced pass and the cell runs each decoding step, with their own roundings.)
"""

from typing import NamedTuple

import keras
from keras import ops

from seq2seq.config.constraints import choices, dispatch_table
from seq2seq.config.schema import ModelConfig, model_options
from seq2seq.model.attention import Attention
from seq2seq.model.bridge import Bridge
from seq2seq.model.recurrent import Decoder, Encoder, repeat_over_time
from seq2seq.text.vocabulary import PAD_ID

#: The constructor's options and their defaults: the `model` config group's keys but
#: `name`, listed once, in the schema.
OPTIONS = model_options()


class EncoderOutput(NamedTuple):
    """What the decoder needs from the source.

    Attributes:
        states: each encoder layer's final states, bottom first (empty lists where the
            family's encoder returns none).
        outputs: what the encoder's top layer returns first: every step (batch, time,
            width) for `attention`, the last h (batch, width) otherwise.
        mask: bool (batch, time), False on padding.
    """

    states: list
    outputs: keras.KerasTensor
    mask: keras.KerasTensor


@keras.saving.register_keras_serializable(package="seq2seq")
class Seq2Seq(keras.Model):
    """The `lstm` family: the encoder's final states start the decoder.

    The family is named for its default cell; with `cell="gru"` or `"rnn"` it runs those
    cells, whose only state is h.

    Args:
        vocab_size: number of source token ids, special tokens included (of both sides'
            when they share a vocabulary).
        target_vocab_size: number of target token ids when the target has a vocabulary
            of its own (and an embedding of its own); None when both sides share one.
        **options: the model's options, named and defaulted as the `model` config
            group's keys (`OPTIONS`, from `seq2seq.config.schema.ModelConfig`):
            `units` (every encoder layer, per direction), `embedding_dim` (shared by
            encoder and decoder), `num_layers` (encoder layer k starts decoder layer k),
            `dropout` (on every recurrent layer's input and the logits' input), `cell`
            (`lstm`, `gru` or `rnn`, both sides), `bidirectional` (the encoder),
            `bridge` (see `Bridge`), `decoder_units` (null: `units`), `attention`
            (the attention family's score). Other keyword arguments go to Keras.

    Call arguments:
        inputs: dict with `encoder_token_ids` int32 (batch, source_len) and
            `decoder_token_ids` int32 (batch, target_len): BOS then the target.
        training: whether dropout is active.

    Returns:
        logits, float32 (batch, target_len, target vocabulary size).
    """

    family = "lstm"
    # The encoder top layer's output mode: (return_sequences, return_state).
    encoder_top_flags = (False, True)
    # Options whose default differs for this family.
    family_defaults: dict = {}

    def __init__(self, vocab_size: int, target_vocab_size: int | None = None, **kwargs):
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in OPTIONS}
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.target_vocab_size = target_vocab_size
        self.options = {**OPTIONS, **self.family_defaults, **options}
        units, cell, num_layers = (
            self.options["units"],
            self.options["cell"],
            self.options["num_layers"],
        )
        dropout, bidirectional = self.options["dropout"], self.options["bidirectional"]
        returns_sequences, returns_state = self.encoder_top_flags
        self.embedding = keras.layers.Embedding(
            vocab_size, self.options["embedding_dim"], name="embedding"
        )
        # A target vocabulary of its own has an embedding of its own; a shared one, one
        # embedding for both sides (`embeds_target`).
        self.target_embedding = None
        if target_vocab_size is not None:
            self.target_embedding = keras.layers.Embedding(
                target_vocab_size, self.options["embedding_dim"], name="target_embedding"
            )
        self.encoder = Encoder(
            cell,
            units,
            num_layers,
            dropout,
            bidirectional,
            return_sequences=returns_sequences,
            return_state=returns_state,
            name="encoder",
        )
        self.bridge = Bridge(
            self.options["bridge"],
            cell,
            self.decoder_units,
            num_layers,
            bidirectional,
            name="bridge",
        )
        self.decoder = Decoder(cell, self.decoder_units, num_layers, dropout, name="decoder")
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        self.output_projection = keras.layers.Dense(
            self.output_size,
            name="logits",
            dtype="float32",  # float32 logits under a mixed policy
        )

    @property
    def embeds_target(self) -> keras.layers.Embedding:
        """The target's embedding: its own, or the one both sides share."""
        return self.embedding if self.target_embedding is None else self.target_embedding

    @property
    def output_size(self) -> int:
        """The width of the logits: the target's vocabulary."""
        return self.target_vocab_size or self.vocab_size

    @property
    def cell(self) -> str:
        """The recurrent cell of both sides: `lstm`, `gru` or `rnn`."""
        return self.options["cell"]

    @property
    def decoder_units(self) -> int:
        """Width of the decoder: `decoder_units`, or `units` when that is null."""
        return self.options["decoder_units"] or self.options["units"]

    def build(self, input_shape=None):
        # One call on a dummy batch creates every weight, whatever the family's wiring,
        # so that a reloaded model has all its variables before its weights are loaded.
        dummy = ops.ones((1, 2), dtype="int32")
        self.call({"encoder_token_ids": dummy, "decoder_token_ids": dummy})
        self.built = True

    def encode(self, encoder_token_ids, training=None) -> EncoderOutput:
        """Runs the encoder over padded source ids."""
        mask = ops.not_equal(encoder_token_ids, PAD_ID)
        embedded = self.embedding(encoder_token_ids)
        outputs, states = self.encoder(embedded, padding_mask=mask, training=training)
        return EncoderOutput(states=states, outputs=outputs, mask=mask)

    def initial_decoder_state(self, encoded: EncoderOutput) -> list:
        """The decoder's initial states, through the bridge (layer k to layer k)."""
        return self.bridge(encoded.states, batch_size=ops.shape(encoded.mask)[0])

    def decoder_inputs(self, decoder_token_ids, encoded: EncoderOutput):
        """What the decoder reads at each step: here, the previous token's embedding."""
        return self.embeds_target(decoder_token_ids)

    def logits(self, decoder_outputs, encoded: EncoderOutput, training=None):
        """The decoder's outputs to logits over the vocabulary."""
        return self.output_projection(self.output_dropout(decoder_outputs, training=training))

    def _decode(self, decoder_token_ids, state, encoded, training):
        inputs = self.decoder_inputs(decoder_token_ids, encoded)
        outputs, state = self.decoder(inputs, initial_states=state, training=training)
        return self.logits(outputs, encoded, training=training), state

    def call(self, inputs, training=None):
        encoded = self.encode(inputs["encoder_token_ids"], training=training)
        state = self.initial_decoder_state(encoded)
        logits, _ = self._decode(inputs["decoder_token_ids"], state, encoded, training)
        return logits

    def decode_step(self, token_ids, state, encoded: EncoderOutput):
        """One decoding step, as at inference (no dropout).

        Args:
            token_ids: int32 (batch,), the previous token of each sequence.
            state: the decoder states after the previous step.
            encoded: the output of `encode` for the same batch (for attention, the memory).

        Returns:
            `(logits, state)`: float32 (batch, vocab_size) and the states after this step.
        """
        inputs = self.decoder_inputs(token_ids[:, None], encoded)[:, 0, :]
        outputs, state = self.decoder.step(inputs, state)
        logits = self.logits(outputs[:, None, :], encoded, training=False)
        return logits[:, 0, :], state

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size, target_vocab_size=self.target_vocab_size, **self.options
        )
        return config


@keras.saving.register_keras_serializable(package="seq2seq")
class RepeatVectorSeq2Seq(Seq2Seq):
    """The `repeat_vector` family: the encoder's last h, repeated, is the decoder's input.

    The encoder's top layer returns only its last h (neither flag); the decoder reads
    that vector at every target step, never the previous tokens, and starts from zeros
    (`bridge="zeros"`), as in the keras-io addition example. Arguments as `Seq2Seq`.
    """

    family = "repeat_vector"
    encoder_top_flags = (False, False)
    family_defaults = {"bridge": "zeros"}

    def decoder_inputs(self, decoder_token_ids, encoded):
        return repeat_over_time(encoded.outputs, decoder_token_ids)


@keras.saving.register_keras_serializable(package="seq2seq")
class AttentionSeq2Seq(Seq2Seq):
    """The `attention` family: every encoder step is memory for attention.

    The encoder's top layer returns every step and its final states (both flags): the
    states start the decoder through the bridge; the steps are what each decoder
    output attends over before the logits.

    Arguments as `Seq2Seq`; the `attention` option (`luong` by default, or `bahdanau`)
    picks the score (see `Attention`).
    """

    family = "attention"
    encoder_top_flags = (True, True)
    family_defaults = {"attention": "luong"}

    def __init__(self, vocab_size, target_vocab_size=None, **kwargs):
        super().__init__(vocab_size, target_vocab_size, **kwargs)
        self.attention = Attention(self.options["attention"], self.decoder_units, name="attention")

    def logits(self, decoder_outputs, encoded, training=None):
        attended = self.attention(decoder_outputs, encoded.outputs, memory_mask=encoded.mask)
        return super().logits(attended, encoded, training=training)

    def attention_weights(self, inputs):
        """Teacher-forced attention weights (batch, target_len, source_len), for display."""
        encoded = self.encode(inputs["encoder_token_ids"], training=False)
        state = self.initial_decoder_state(encoded)
        embedded = self.decoder_inputs(inputs["decoder_token_ids"], encoded)
        outputs, _ = self.decoder(embedded, initial_states=state, training=False)
        _, weights = self.attention(
            outputs, encoded.outputs, memory_mask=encoded.mask, return_scores=True
        )
        return weights


#: Model family name -> class; `model.name` in the config chooses.
FAMILIES = dispatch_table(
    "model.name",
    choices(ModelConfig, "name"),
    {cls.family: cls for cls in (Seq2Seq, RepeatVectorSeq2Seq, AttentionSeq2Seq)},
)


def build_model(model_cfg, vocab_size: int, target_vocab_size: int | None = None) -> Seq2Seq:
    """Builds the model a `model` config group describes.

    Args:
        model_cfg: the `model` config group (validated), or its typed values
            (`OmegaConf.to_object`: a `ModelConfig`).
        vocab_size: number of (source) token ids, special tokens included.
        target_vocab_size: number of target token ids, when the target has a vocabulary
            of its own (`Vocabularies.model_sizes` gives both).

    Returns:
        A built model (every weight created) of the family `model_cfg.name`.
    """
    options = {name: getattr(model_cfg, name) for name in OPTIONS}
    model = FAMILIES[model_cfg.name](
        vocab_size, target_vocab_size, name=f"seq2seq_{model_cfg.name}", **options
    )
    model.build()
    return model
