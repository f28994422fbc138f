"""The two models a portable export holds: the encoder, and one step of the decoder.

Every family decodes through `encode`, `initial_decoder_state` and `decode_step`
(`seq2seq.model.families`); these wrappers run exactly those, so that ONNX Runtime and
LiteRT compute what `predict` computes, one step at a time, with the search loop outside
(the exported decoder, `seq2seq.serving.portable_decode`). Their tensors, by name:

    encoder   in:  source_ids int32 (batch, time), padded with PAD (0)
              out: state_0 .. state_{S-1} float32 (batch, width): the decoder's initial
                   states through the bridge, layer by layer ([h, c] per LSTM layer,
                   [h] per GRU or RNN layer), and what every step reads unchanged:
                   memory (batch, time, width) for `attention`, context (batch, width)
                   for `repeat_vector`, nothing for `lstm`
    step      in:  token_ids int32 (batch,), the previous token (BOS first); state_0 ..
                   state_{S-1}; memory and source_ids (`attention`: its padding is the
                   attention's mask) or context (`repeat_vector`)
              out: logits float32 (batch, target vocabulary); next_state_0 ..
                   next_state_{S-1}, the states after this step

The step's outputs are named apart from its inputs: a converter given one name for both
an input and an output makes a graph that refers to itself (tf2onnx did).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from seq2seq.model.families import EncoderOutput
from seq2seq.text.vocabulary import FIRST_SYMBOL_ID, PAD_ID

#: What every step reads unchanged, by family: the encoder's output of that name, and
#: the source ids (whose padding masks attention).
CARRIED = {"lstm": (), "repeat_vector": ("context",), "attention": ("memory", "source_ids")}
#: The source ids' name, in the encoder's and the step's inputs.
SOURCE_IDS = "source_ids"


def state_name(index: int) -> str:
    """The name of the encoder's output and the step's input for state `index`."""
    return f"state_{index}"


def next_state_name(index: int) -> str:
    """The name of the step's output for state `index`."""
    return f"next_{state_name(index)}"


def _flat(states: list) -> list:
    return [tensor for layer in states for tensor in layer]


def state_layout(model) -> list[int]:
    """How many state tensors each decoder layer has, bottom first (2 per LSTM layer)."""
    encoded = model.encode(ops.ones((1, 2), dtype="int32"), training=False)
    return [len(layer) for layer in model.initial_decoder_state(encoded)]


class PortableEncoder(keras.Model):
    """The source to the decoder's initial states (and what every step reads).

    Args:
        seq2seq: a Seq2Seq model of any family, computing in float32.
    """

    def __init__(self, seq2seq, **kwargs):
        super().__init__(**kwargs)
        self.seq2seq = seq2seq

    def call(self, source_ids):
        encoded = self.seq2seq.encode(source_ids, training=False)
        states = _flat(self.seq2seq.initial_decoder_state(encoded))
        outputs = {state_name(i): state for i, state in enumerate(states)}
        carried = CARRIED[self.seq2seq.family]
        if carried:  # memory (every step of the top layer) or context (its last h)
            outputs[carried[0]] = encoded.outputs
        return outputs


class PortableStep(keras.Model):
    """One decoding step: the previous token and the states to logits and the next states.

    Args:
        seq2seq: a Seq2Seq model of any family, computing in float32.
        layout: `state_layout(seq2seq)`.
    """

    def __init__(self, seq2seq, layout: list[int], **kwargs):
        super().__init__(**kwargs)
        self.seq2seq = seq2seq
        self.layout = list(layout)

    def call(self, inputs):
        states, index = [], 0
        for count in self.layout:
            states.append([inputs[state_name(index + j)] for j in range(count)])
            index += count
        carried = CARRIED[self.seq2seq.family]
        mask = ops.not_equal(inputs[SOURCE_IDS], PAD_ID) if SOURCE_IDS in carried else None
        outputs = inputs[carried[0]] if carried else None
        encoded = EncoderOutput(states=[], outputs=outputs, mask=mask)
        logits, states = self.seq2seq.decode_step(inputs["token_ids"], states, encoded)
        named = {next_state_name(i): state for i, state in enumerate(_flat(states))}
        return {"logits": logits, **named}


def signatures(encoder: PortableEncoder, step: PortableStep, encoder_batch: int | None) -> tuple:
    """The two models' input signatures, every dimension but the widths free.

    Each model is called once on a small batch here (Keras' exporters need a called
    model), which also gives the widths.

    Args:
        encoder, step: the wrappers.
        encoder_batch: the encoder's batch size, None for any (LiteRT's interpreter runs
            the encoder's loop over time only for a fixed batch: 1).

    Returns:
        `(encoder_signature, step_signature)`, as `model.export(input_signature=...)` takes
        them: a list of one TensorSpec, and a list of one dict of TensorSpecs.
    """
    source = ops.convert_to_tensor([[FIRST_SYMBOL_ID] * 3], dtype="int32")
    # As plain arrays: Keras' outputs carry the source's padding mask, which the step
    # (taking the source ids for its mask) would warn it drops.
    encoded = {name: np.asarray(value) for name, value in encoder(source).items()}
    inputs = {"token_ids": np.ones((1,), np.int32), **encoded, SOURCE_IDS: np.asarray(source)}
    inputs = {name: inputs[name] for name in step_inputs(step)}
    step(inputs)
    specs = {}
    for name, value in inputs.items():
        shape = [None] * len(value.shape)
        if name not in (SOURCE_IDS, "token_ids"):
            shape[-1] = int(value.shape[-1])  # a width: fixed by the weights
        specs[name] = tf.TensorSpec(shape, tf.as_dtype(value.dtype), name=name)
    encoder_spec = tf.TensorSpec([encoder_batch, None], tf.int32, name=SOURCE_IDS)
    return [encoder_spec], [specs]


def step_inputs(step: PortableStep) -> list[str]:
    """The step's input names: the token, the states, then what every step reads."""
    count = sum(step.layout)
    states = [state_name(i) for i in range(count)]
    return ["token_ids", *states, *CARRIED[step.seq2seq.family]]
