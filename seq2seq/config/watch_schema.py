"""Typed schemas of what training watches: the metrics a run reports and which way is
better, early stopping and the learning rate's decay on plateau (`trainer.early_stopping`,
`trainer.plateau`); registered with the rest through `schema.py`."""

from dataclasses import dataclass

from seq2seq.config.constraints import integer, number, one_of

#: Every metric a run reports for validation and test, and which way is better: what a
#: sweep optimizes and early stopping monitors read the direction from here.
METRICS = {
    "loss": "min",
    "token_accuracy": "max",
    "exact_match": "max",
    "exact_match_any": "max",
    "token_error_rate": "min",
    "token_error_rate_any": "min",
    "bleu": "max",
    "chrf": "max",
}

#: What early stopping and a sweep may watch: every metric, on the validation split.
VALIDATION_METRICS = tuple(f"val/{name}" for name in METRICS)


@dataclass
class EarlyStoppingConfig:
    """Training until it is good: stop once the watched metric stops improving, and keep
    the weights of its best epoch."""

    monitor: str | None = one_of(
        None,
        ("off", *VALIDATION_METRICS),
        help="The validation metric watched (its better direction is known), e.g. `val/token_error_rate`; off: never stop early.",
    )
    patience: int = integer(
        5,
        minimum=0,
        help="Epochs without an improvement larger than `min_delta` before training stops; the best epoch's weights are what the run saves and measures.",
    )
    min_delta: float = number(
        0.0, minimum=0.0, help="The least change of the metric that counts as an improvement."
    )
    goal: float | None = number(
        None,
        help="Stop at the end of the first epoch whose monitored value reaches this (at least it for a metric to maximize, at most for one to minimize): the task is solved.",
    )


@dataclass
class PlateauConfig:
    """`trainer.lr_schedule=plateau`: the learning rate decays when validation stops
    improving (Keras' ReduceLROnPlateau), as OpenNMT-py and Sockeye decay on plateau. Under
    another schedule these keys are refused away from their defaults."""

    monitor: str = one_of(
        "val/loss",
        VALIDATION_METRICS,
        help="The validation metric watched (its better direction is known); the loss by default: it falls smoothly from the first epoch, where the decoded metrics stall until a model takes off, and a decay there slowed the samples.",
    )
    factor: float = number(
        0.5,
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        exclusive_maximum=True,
        help="The learning rate is multiplied by it each time `monitor` has not improved for `patience` epochs.",
    )
    patience: int = integer(
        1,
        minimum=1,
        help="Epochs without an improvement before the rate decays; below early stopping's patience (refused at or above it while early stopping is on), so that a run tries a lower rate before it stops.",
    )
    min_learning_rate: float = number(
        1e-5,
        minimum=0.0,
        help="The learning rate never decays below it; below `trainer.learning_rate` (a floor at or above the starting rate is refused: the rate could never decay).",
    )
