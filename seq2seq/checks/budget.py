"""Checks of `trainer.time_budget` against the keys it decides or cannot work with, in
plain Python (no TensorFlow import): the budget plans the steps, so a fixed epoch length
would contradict it, and the multi-worker loop has no way to agree on one plan."""

from seq2seq.base.errors import ConfigError


def check_time_budget(trainer) -> None:
    """Refuses what a run under `trainer.time_budget` could not honour.

    `trainer.epochs` stays the user's: the planned steps are cut into that many epochs.
    `trainer.lr_schedule=plateau` is allowed: the rate decays on plateaus as ever and the
    run stops at the planned steps.

    Args:
        trainer: the `trainer` config group.

    Raises:
        ConfigError: for `trainer.steps_per_epoch` set, or `trainer.strategy=multi_worker`.
    """
    budget = trainer.time_budget
    if budget is None:
        return
    if trainer.steps_per_epoch is not None:
        raise ConfigError(
            "trainer.steps_per_epoch",
            trainer.steps_per_epoch,
            f"trainer.time_budget={budget} plans the steps and cuts them into trainer.epochs "
            "epochs; allowed: null (set trainer.epochs for more or fewer epochs)",
        )
    if trainer.strategy == "multi_worker":
        # Each worker would time its own steps: plans that differ would hang the
        # all-reduce of the worker that planned more.
        raise ConfigError(
            "trainer.time_budget",
            budget,
            "trainer.strategy=multi_worker cannot agree on one plan across workers; "
            "allowed: null, or trainer.strategy=default or mirrored",
        )
