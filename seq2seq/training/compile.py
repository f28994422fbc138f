"""The optimizer, its schedule, the masked loss and the metrics: how a model is compiled,
and the dtype policy it is built and run under."""

import contextlib
from collections.abc import Iterator

import keras

from seq2seq.evaluation.metrics import ExactMatch, token_accuracy


def make_optimizer(trainer_cfg, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer named in the `trainer` config, with its schedule and clipping.

    Args:
        trainer_cfg: the `trainer` config group.
        total_steps: optimizer steps in the whole run, over which a schedule decays.

    Returns:
        A Keras optimizer (`keras.optimizers.get` resolves the name).
    """
    learning_rate = trainer_cfg.learning_rate
    if trainer_cfg.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.get(
        {
            "class_name": trainer_cfg.optimizer,
            "config": {"learning_rate": learning_rate, "clipnorm": trainer_cfg.clipnorm},
        }
    )


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Builds and runs models under Keras' dtype policy `name`, then restores the old one.

    A mixed policy keeps the weights in float32 and computes in bfloat16 or float16;
    under `mixed_float16` Keras' `compile` adds loss scaling itself.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def compile_model(model: keras.Model, trainer_cfg, total_steps: int) -> None:
    """Compiles with masked cross-entropy: the mean over real target tokens only.

    Args:
        model: a built Seq2Seq model.
        trainer_cfg: the `trainer` config group.
        total_steps: optimizer steps in the whole run (for the schedule).
    """
    model.compile(
        optimizer=make_optimizer(trainer_cfg, total_steps),
        steps_per_execution=trainer_cfg.steps_per_execution,
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        # Weighted, so that the padding mask passed as sample weight applies.
        weighted_metrics=[token_accuracy(), ExactMatch()],
    )
