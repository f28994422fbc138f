"""The optimizer, its schedule, the masked loss and the metrics: how a model is compiled;
and, re-exported, the dtype policy it is built and run under (`seq2seq.model.precision`)."""

import keras
import tensorflow as tf
from keras import ops

from seq2seq.evaluation.metrics import ExactMatch, token_accuracy
from seq2seq.machine.hardware import Precision, choose_precision, cpu_flags
from seq2seq.model.precision import dtype_policy as dtype_policy  # re-exported: trainer.py

#: A fine-tuned run warms up over at most this share of its steps: the parent's warmup,
#: fitted to a long run, would keep a short one's rate near zero throughout.
FINE_TUNING_WARMUP_SHARE = 0.1


def warmup_steps(trainer_cfg, total_steps: int) -> int:
    """`trainer.warmup_steps`, capped at `FINE_TUNING_WARMUP_SHARE` of the run's steps for a
    fine-tuned run (`trainer.init_from`)."""
    if trainer_cfg.init_from is None:
        return trainer_cfg.warmup_steps
    return min(trainer_cfg.warmup_steps, int(total_steps * FINE_TUNING_WARMUP_SHARE))


def peak_rate(trainer_cfg) -> float:
    """`trainer.learning_rate`, times `trainer.fine_tuning_rate` for a fine-tuned run."""
    if trainer_cfg.init_from is None:
        return trainer_cfg.learning_rate
    return trainer_cfg.learning_rate * trainer_cfg.fine_tuning_rate


def learning_rate(trainer_cfg, total_steps: int):
    """The learning rate, or its schedule: a linear warmup from 0 over `warmup_steps`, then
    constant or a cosine decay towards 0 over the rest of the run; for `plateau`, the
    peak as a plain rate, which the optimizer keeps in a variable that `PlateauDecay`
    (Keras' ReduceLROnPlateau) lowers and checkpoints save.

    Keras' CosineDecay does both parts: with `alpha=1.0` its "decay" keeps the rate at its
    peak, which makes it the constant schedule after a warmup too.
    """
    peak, warmup = peak_rate(trainer_cfg), warmup_steps(trainer_cfg, total_steps)
    if trainer_cfg.lr_schedule in ("constant", "plateau") and not warmup:
        return peak
    decay_steps = max(1, total_steps - warmup)
    alpha = 1.0 if trainer_cfg.lr_schedule == "constant" else 0.0
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps, alpha=alpha)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps, alpha=alpha, warmup_target=peak, warmup_steps=warmup
    )


def make_optimizer(trainer_cfg, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer named in the `trainer` config, with its schedule, clipping and
    gradient accumulation.

    Args:
        trainer_cfg: the `trainer` config group.
        total_steps: batches in the whole run, over which a schedule decays (a schedule
            counts batches, not updates, under gradient accumulation).

    Returns:
        A Keras optimizer (`keras.optimizers.get` resolves the name).
    """
    accumulate = trainer_cfg.gradient_accumulation_steps
    return keras.optimizers.get(
        {
            "class_name": trainer_cfg.optimizer,
            "config": {
                "learning_rate": learning_rate(trainer_cfg, total_steps),
                "clipnorm": trainer_cfg.clipnorm,
                # Keras takes None, or an integer >= 2.
                "gradient_accumulation_steps": accumulate if accumulate > 1 else None,
                # Keras' own moving average (seq2seq/weights/ema.py swaps it in to be read).
                "use_ema": trainer_cfg.ema_momentum is not None,
                "ema_momentum": trainer_cfg.ema_momentum or 0.99,
            },
        }
    )


@keras.saving.register_keras_serializable(package="seq2seq")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Cross-entropy of integer targets against logits, with label smoothing.

    Keras 3.15's SparseCategoricalCrossentropy has no label smoothing; its
    CategoricalCrossentropy has, on one-hot targets: this one-hots the targets and calls
    it. Padding is masked by the sample weight, as with Keras' own losses.

    Args:
        label_smoothing: the share of each target's probability spread over the vocabulary.
    """

    def __init__(
        self,
        label_smoothing=0.1,
        reduction="mean_with_sample_weight",
        name="smoothed_cross_entropy",
    ):
        super().__init__(name=name, reduction=reduction)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        one_hot = ops.one_hot(ops.cast(y_true, "int32"), ops.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def make_loss(trainer_cfg) -> keras.losses.Loss:
    """The masked cross-entropy: the mean over real target tokens only, label-smoothed if asked."""
    if trainer_cfg.label_smoothing:
        return SmoothedCrossEntropy(trainer_cfg.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight"
    )


def precision_on_this_machine(trainer_cfg) -> Precision:
    """`trainer.precision`, with `auto` resolved by the flags' rule (`choose_precision`).

    A run resolves `auto` with `seq2seq.training.precision_choice.choose_for_run`, which
    measures where the CPU offers a choice and falls back on this rule elsewhere.

    Args:
        trainer_cfg: the `trainer` config group.

    Returns:
        The Keras dtype policy name to train under, and why (seq2seq/machine/hardware.py).
    """
    return choose_precision(
        trainer_cfg.precision,
        cpu_flags(),
        gpu=bool(tf.config.list_physical_devices("GPU")),
        float16_allowed=trainer_cfg.strategy != "multi_worker",
    )


def compile_model(model: keras.Model, trainer_cfg, total_steps: int) -> None:
    """Compiles with the optimizer and the masked loss (`make_loss`) the config asks for.

    Args:
        model: a built Seq2Seq model.
        trainer_cfg: the `trainer` config group.
        total_steps: optimizer steps in the whole run (for the schedule).
    """
    model.compile(
        optimizer=make_optimizer(trainer_cfg, total_steps),
        steps_per_execution=trainer_cfg.steps_per_execution,
        loss=make_loss(trainer_cfg),
        # Weighted, so that the padding mask passed as sample weight applies.
        weighted_metrics=[token_accuracy(), ExactMatch()],
    )
    # Keras creates the optimizer's variables inside the first traced step otherwise, and
    # TensorFlow then traces that step twice (once creating them, once using them): made
    # now, a run traces it once (about 1 s less before a tiny run's first step).
    model.optimizer.build(model.trainable_variables)
