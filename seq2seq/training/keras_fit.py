"""The training loop under Keras' `fit` (default and mirrored strategies) over a
`TrainingRun`: resuming from a checkpoint, the run's callbacks, then the finish."""

import logging
from pathlib import Path

from seq2seq.base.errors import UserError
from seq2seq.base.names import CHECKPOINTS_DIR, TENSORBOARD_DIR
from seq2seq.data import pipeline
from seq2seq.logs.progress import keras_verbose
from seq2seq.logs.tensorboard_rewind import truncate_events
from seq2seq.machine.xla import compile_with_xla
from seq2seq.training.budget_guard import BudgetGuard
from seq2seq.training.callbacks import EpochClock
from seq2seq.training.finish import Metrics, Trained
from seq2seq.training.run import TrainingRun
from seq2seq.weights import checkpoints
from seq2seq.weights.ema import swap, uses_ema

log = logging.getLogger(__name__)


def _resume(model, run_dir: Path, epochs: int, steps_per_epoch: int) -> dict | None:
    """Loads the latest checkpoint of `run_dir`, if any, and rewinds TensorBoard to it
    (its step-level figures to the epoch's first optimizer step).

    Returns:
        The checkpoint's record (None without one): its `epoch` is where training
        resumes, and it holds early stopping's state.
    """
    directory = run_dir / CHECKPOINTS_DIR
    state = checkpoints.latest(directory, epochs)
    if state is not None:
        try:
            state = checkpoints.restore(model, directory, state)
            if uses_ema(model):  # saved with the average in the model (ema.py)
                swap(model)
        except ValueError as error:
            raise UserError(
                f"trainer.resume=true: {error}; start the run again in another directory"
            ) from None
    first_epoch = 0 if state is None else state["epoch"]
    dropped = truncate_events(run_dir / TENSORBOARD_DIR, first_epoch, steps_per_epoch)
    log.info(
        "Resuming from epoch %d (%s); %d TensorBoard events of later steps dropped",
        first_epoch + 1, state["weights"] if state else "no checkpoint yet", dropped,
    )  # fmt: skip
    return state


def _budget_guard(run: TrainingRun, epochs: int):
    """The `budget_guard.BudgetGuard` of a fresh run with a budget; None otherwise (a resumed
    run trains its saved plan out: its first process's clock is gone)."""
    plan = run.facts.get("time_budget")
    if plan is None or run.resuming or run.started is None:
        return None
    finish = plan["reserved_seconds"]["finish"]
    return BudgetGuard(plan["budget_seconds"], run.started, finish, epochs)


def fit_and_save(run: TrainingRun, callbacks=()) -> Metrics:
    """Builds, fits, saves and measures the model with Keras' `fit`: the second half of
    `train` under the default and mirrored strategies.

    Args:
        run: the run, not built yet.
        callbacks: more Keras callbacks, before the checkpointer.
    """
    run_dir, trainer = run.path, run.trainer
    xla = run.facts.get("xla", False)
    batches = pipeline.EpochBatches(
        run.task_data.train, trainer.batch_size, run.seed, trainer.group_by_length,
        trainer.steps_per_epoch, bucketed=xla,
    )  # fmt: skip
    run.build(total_steps=batches.steps * trainer.epochs)
    model = run.model
    if xla:
        compile_with_xla(model)
    saved = _resume(model, run_dir, trainer.epochs, batches.steps) if run.resuming else None
    run.first_epoch = first_epoch = 0 if saved is None else saved["epoch"]
    run.start_early_stopping(saved)
    run.start_lr_decay(saved)
    # A run that stopped early, resumed to finish its final save, trains no more.
    stopped = run.stopped_already()
    guard = _budget_guard(run, trainer.epochs)

    def fit() -> Trained:
        clock = EpochClock()
        history = model.fit(
            batches.dataset,
            initial_epoch=first_epoch,
            epochs=first_epoch if stopped else trainer.epochs,
            callbacks=[
                batches,  # first: it picks the order of the epoch about to be read
                *run.callbacks(callbacks),
                *([guard] if guard is not None else []),  # times epochs with their checkpoints
                clock,  # last: an epoch ends once its checkpoint is written
            ],
            shuffle=False,  # the dataset shuffles, per epoch, from the seed
            # A progress bar in a terminal; elsewhere the run's callbacks log the
            # progress (`progress.py`), where Keras' bar would print every update.
            verbose=keras_verbose(),
        )
        more = {
            # Time between the last epoch's checkpoint and the end of `fit`: about 0 s; it
            # was 13-33 s in one run of two while tf.data's autotuning was on (pipeline.py).
            "seconds_after_last_epoch": clock.seconds_since_last_epoch(),
            **({"time_budget_stop": guard.stopped} if guard is not None and guard.stopped else {}),
        }
        return Trained(first_epoch + len(history.epoch), more=more)

    return run.train(fit)
