"""XLA for the training step (`trainer.xla`), with TensorFlow's op determinism kept on.

`train` turns op determinism on (`tf.config.experimental.enable_op_determinism`) so that
a resumed run ends with the weights of an uninterrupted one. Keras' `compile` hands
`jit_compile=True` to the model's `jit_compile` setter, which asks `model_supports_jit`;
that answers False whenever op determinism is on, and Keras trains without XLA after a
warning: the flag was silently dropped. XLA's CPU code gives the same results for the same
program and shapes run after run, and the data pipeline's batches depend only on the
seed and the epoch, so determinism and XLA can hold together: `compile_with_xla` sets the
flag that Keras' step functions read (`_jit_compile`) after `compile`.

This reaches into Keras (3.15): `Trainer._jit_compile` is not public API. The check at
import fails if it is gone, and tests/training/test_xla.py fails if the training step
stops being compiled by XLA.

A compiled step is compiled again for every new batch shape (several seconds each on a
CPU), so under XLA the batches that are padded to their own longest rows (grouped by
length, or read from disk) are padded further, to one of a few lengths per side
(`seq2seq.data.batching.bucket_width`): a run compiles a handful of graphs.
"""

from typing import NamedTuple

import keras

if not isinstance(getattr(keras.Model, "jit_compile", None), property):
    raise ImportError(
        f"keras {keras.__version__}: Model.jit_compile is no longer a property; "
        "seq2seq/machine/xla.py sets the flag behind it and needs updating"
    )


class XlaChoice(NamedTuple):
    """Whether the training step is compiled by XLA, and why (for the log and run.json)."""

    on: bool
    reason: str


def choose_xla(requested: bool) -> XlaChoice:
    """`trainer.xla`, with the reason recorded.

    Args:
        requested: the configured value.

    Returns:
        Whether XLA compiles the training step, and why.
    """
    if requested:
        return XlaChoice(True, "set by trainer.xla")
    return XlaChoice(False, "trainer.xla=false (the default: slower a step on CPUs measured)")


def compile_with_xla(model: keras.Model) -> None:
    """Has Keras compile the model's training step with XLA, op determinism or not.

    Args:
        model: a compiled Keras model (its step functions not made yet, or made again).
    """
    # Keras' setter refuses under op determinism (see the module's docstring); the
    # step functions read this attribute when they are made.
    model._jit_compile = True
    model.train_function = model.test_function = model.predict_function = None
