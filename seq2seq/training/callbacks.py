"""Keras callbacks that give `model.fit` this framework's validation and TensorBoard views
(the TensorBoard ones in `tensorboard_callbacks.py`, imported here with the others)."""

import time

import keras
import tensorflow as tf

from seq2seq.base.errors import RunError
from seq2seq.base.names import CHECKPOINTS_DIR, TENSORBOARD_DIR
from seq2seq.config.schema import METRICS
from seq2seq.data.splits import Split
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.logs.progress import ProgressLog
from seq2seq.logs.tensorboard_callbacks import (  # noqa: F401 - with the others
    FlushingTensorBoard,
    StepValidation,
    TensorBoardExtras,
)
from seq2seq.weights import averaging, checkpoints
from seq2seq.weights.ema import EmaIn, EmaOut


class GreedyValidation(keras.callbacks.Callback):
    """Adds the evaluator's figures to each epoch's logs as `val_<name>`: `val_loss`,
    `val_token_accuracy`, `val_exact_match`, `val_truncated` (how many outputs reached
    the length bound without ending) and, with the target vocabulary, the text metrics
    `val_token_error_rate`, `val_bleu` and `val_chrf` (see `Evaluator.__call__`).

    Keras' own validation would measure exact-match under teacher forcing; this one
    decodes greedily, as at inference, up to the run's length bound. Place it before the
    callbacks that read the logs (checkpointing, TensorBoard).

    Args:
        evaluator: measures the model on a split.
        split: the validation split.
    """

    def __init__(self, evaluator: Evaluator, split: Split):
        super().__init__()
        self.evaluator = evaluator
        self.split = split

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name, value in self.evaluator(self.split).items():
                logs[f"val_{name}"] = value


class StopOnNonFiniteLoss(keras.callbacks.TerminateOnNaN):
    """Stops training at the first NaN or infinite loss, saying where.

    Keras' `TerminateOnNaN(raise_error=True)` detects it and raises at once, so that the
    epoch's checkpoint is never written and the last good one stays the latest; this
    turns its RuntimeError into a one-line `RunError` that names the epoch, the step and
    the checkpoint kept, for a non-zero exit without a traceback.

    Args:
        checkpoint_dir: where the run's checkpoints are, to name the last good one.
    """

    def __init__(self, checkpoint_dir):
        super().__init__(raise_error=True)
        self.checkpoint_dir = checkpoint_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        try:
            super().on_batch_end(batch, logs)
        except RuntimeError:
            state = checkpoints.latest(self.checkpoint_dir)
            kept = (
                "no checkpoint had been written yet"
                if state is None
                else f"the last good checkpoint, {state['weights']}, is kept"
            )
            raise RunError(
                f"training stopped: the loss is {float(logs['loss'])} at epoch {self.epoch + 1}, "
                f"step {batch + 1}; {kept}"
            ) from None


class EpochClock(keras.callbacks.Callback):
    """Notes when each epoch ends (put it last), so that the run can tell how long `fit`
    took to return after its last epoch."""

    def __init__(self):
        super().__init__()
        self.last_epoch_end = None

    def on_epoch_end(self, epoch, logs=None):
        self.last_epoch_end = time.perf_counter()

    def seconds_since_last_epoch(self) -> float | None:
        """Seconds since the last epoch ended (None if none did)."""
        if self.last_epoch_end is None:
            return None
        return round(time.perf_counter() - self.last_epoch_end, 2)


class BestEpoch(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping on a validation metric, in its known direction, with a state
    that survives a resume.

    Its state (epochs waited, best value and epoch, the epoch it stopped at) is recorded
    with each checkpoint (`state`) and given back when a run resumes, where Keras' own
    `on_train_begin` would reset it. The best weights stay on disk, in the best epoch's
    checkpoint (never pruned), not in memory: `restore_best_weights` is off.

    With a `goal`, training also stops at the end of the first epoch whose value reaches
    it (at least the goal for a metric to maximize, at most for one to minimize), as
    Lightning's `stopping_threshold` does; Keras' EarlyStopping has no such option.

    Args:
        monitor: `val/<metric>`, one of `seq2seq.config.schema.VALIDATION_METRICS`.
        patience: epochs without improvement before training stops.
        min_delta: the least change that counts as an improvement.
        goal: the value at which the task counts as solved; None: no goal.
        saved: the state recorded with the checkpoint a run resumes from, if any.
    """

    def __init__(
        self,
        monitor: str,
        patience: int,
        min_delta: float,
        goal: float | None = None,
        saved: dict | None = None,
    ):
        metric = monitor.split("/", 1)[1]
        super().__init__(
            monitor=f"val_{metric}", mode=METRICS[metric], patience=patience, min_delta=min_delta
        )
        self.watched = monitor
        self.goal = goal
        self.goal_reached = False
        self.saved = saved

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.saved:
            self.wait = self.saved["wait"]
            self.best = self.saved["best"]
            self.best_epoch = self.saved["best_epoch"]
            self.stopped_epoch = self.saved["stopped_epoch"]
            self.goal_reached = self.saved.get("goal_reached", False)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        value = (logs or {}).get(self.monitor)
        if self.goal is None or value is None or self.model.stop_training:
            return
        if value >= self.goal if self.mode == "max" else value <= self.goal:
            self.goal_reached = True
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def state(self) -> dict:
        """What latest.json records of this callback."""
        best = None if self.best is None else float(self.best)
        return {
            "early_stopping": {
                "wait": int(self.wait),
                "best": best,
                "best_epoch": int(self.best_epoch),
                "stopped_epoch": int(self.stopped_epoch),
                "goal_reached": self.goal_reached,
            }
        }


class PlateauDecay(keras.callbacks.ReduceLROnPlateau):
    """Keras' ReduceLROnPlateau on a validation metric, in its known direction, with a state
    that survives a resume (`lr_schedule=plateau`).

    The learning rate itself is one of the optimizer's variables, saved with each
    checkpoint; what this adds is the callback's own count of epochs waited, best value and
    cooldown, recorded in latest.json (`state`) and given back on resume, where Keras'
    `on_train_begin` would reset them. Keras' TensorBoard logs the rate each epoch trained
    at (`epoch_learning_rate`), so the run's callbacks put this one after it.

    Args:
        monitor: `val/<metric>`, one of `seq2seq.config.schema.VALIDATION_METRICS`.
        factor: the rate is multiplied by it after `patience` epochs without improvement.
        patience: epochs without improvement before the rate decays.
        min_lr: the rate never falls below it.
        saved: the state recorded with the checkpoint a run resumes from, if any.
    """

    def __init__(self, monitor: str, factor: float, patience: int, min_lr: float, saved=None):
        metric = monitor.split("/", 1)[1]
        super().__init__(
            monitor=f"val_{metric}",
            mode=METRICS[metric],
            factor=factor,
            patience=patience,
            min_lr=min_lr,
            min_delta=0.0,
        )
        self.saved = saved

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.saved:
            self.wait = self.saved["wait"]
            self.best = self.saved["best"]
            self.cooldown_counter = self.saved["cooldown_counter"]

    def state(self) -> dict:
        """What latest.json records of this callback."""
        best = None if self.best is None else float(self.best)
        return {
            "plateau": {
                "wait": int(self.wait),
                "best": best,
                "cooldown_counter": int(self.cooldown_counter),
            }
        }


def epoch_callbacks(run, extra=()) -> list:
    """A run's callbacks for each epoch, in order: validation first, then what reads its
    figures (early stopping, TensorBoard); each epoch's logs and summaries are complete
    and on disk before its checkpoint is written (last), so a checkpoint never outlives
    them.

    Args:
        run: the built `seq2seq.training.run.TrainingRun`.
        extra: more Keras callbacks, before the checkpointer.

    Returns:
        The callbacks.
    """
    trainer, shown, run_dir = run.trainer, run.logging, run.path
    best, plateau, average = run.best, run.plateau, trainer.average_checkpoints
    writer = tf.summary.create_file_writer(str(run_dir / TENSORBOARD_DIR))
    tensorboard = FlushingTensorBoard(
        str(run_dir / TENSORBOARD_DIR),
        histogram_freq=shown.histogram_freq,
        write_graph=False,
    )
    ema = trainer.ema_momentum is not None
    return [
        # First: every callback up to the checkpoint reads the moving average.
        *([EmaIn()] if ema else []),
        StopOnNonFiniteLoss(run_dir / CHECKPOINTS_DIR),
        GreedyValidation(run.evaluator, run.task_data.val),
        *([best] if best is not None else []),
        # After the figures it logs are all in, before PlateauDecay changes the rate.
        ProgressLog(trainer.progress_seconds),
        TensorBoardExtras(
            writer,
            run.start,
            run.task_data.vocabs,
            run.task_data.val,
            bound=run.evaluator.bound,
            samples=shown.samples,
            images=shown.images,
            first_epoch=run.first_epoch,
        ),
        tensorboard,
        # After TensorBoard, whose validation writer it writes to and flushes.
        StepValidation(
            run.evaluator,
            run.task_data.val,
            shown.validation_points_per_epoch,
            tensorboard,
        ),
        # After TensorBoard, which logs the rate the epoch trained at, before the
        # checkpoint, which saves the decayed one.
        *([plateau] if plateau is not None else []),
        *extra,
        checkpoints.Checkpointer(
            run_dir / CHECKPOINTS_DIR,
            before_save=writer.flush,
            extra_state=run._watch_state,
            keep=trainer.keep_checkpoints,
            protected=(
                (lambda: averaging.protected_epochs(best.best_epoch + 1, average))
                if best is not None
                else None
            ),
        ),
        *([EmaOut()] if ema else []),
    ]
