"""The dtype policy a model is built and run under, and the one it decodes in.

A run trains under `trainer.precision` (float32, or a Keras mixed policy: float32 weights,
bfloat16 or float16 arithmetic), but every output a user gets (the final `metrics.json`,
`evaluate`, `predict`, `score`, ensembles and the SavedModel's signatures) comes from the
model computing in float32 (`DECODING_DTYPE`). bfloat16 keeps 8 bits of mantissa and
rounds differently with each batch's shape: predict's batches, evaluate's and a server's
would decode slightly different outputs and log-probabilities from the same weights. A
mixed policy keeps its weights in float32, so the float32 copy holds exactly the trained
weights. Validation during training stays in the training precision.
"""

import contextlib
from collections.abc import Iterator

import keras

#: What every decoding for a user computes in, whatever the training precision.
DECODING_DTYPE = "float32"


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Builds and runs models under Keras' dtype policy `name`, then restores the old one.

    A mixed policy keeps the weights in float32 and computes in bfloat16 or float16;
    under `mixed_float16` Keras' `compile` adds loss scaling itself.

    Args:
        name: a Keras dtype policy name (`float32`, `mixed_bfloat16`, `mixed_float16`).
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def decodes_in_float32(model: keras.Model) -> bool:
    """Whether `model` and its layers compute in `DECODING_DTYPE`.

    A layer built inside the model's constructor takes the global policy of that moment,
    as its nested layers do: the model's own layers stand for theirs.
    """
    layers = [model, *model.layers]
    return all(layer.compute_dtype == DECODING_DTYPE for layer in layers)


def for_decoding(model: keras.Model) -> keras.Model:
    """`model` as every command decodes with it: computing in float32.

    Args:
        model: a built Seq2Seq model, trained or loaded under any dtype policy.

    Returns:
        `model` itself when it computes in float32 already; otherwise a new model of the
        same class and config, built under the float32 policy, holding `model`'s weights
        (float32 under a mixed policy, so copied exactly).
    """
    if decodes_in_float32(model):
        return model
    # The config's own `dtype` is the training policy: the model itself would keep it.
    config = {**model.get_config(), "dtype": DECODING_DTYPE}
    with dtype_policy(DECODING_DTYPE):
        copy = type(model).from_config(config)
        copy.build()
    copy.set_weights(model.get_weights())
    return copy
