"""What a run shows of its progress: every epoch's figures in `train.log`, and during an
epoch a line every `trainer.progress_seconds`, in the log and on a stdout that is not a
terminal.

Keras' own output does not serve here: its `ProgbarLogger` writes to stdout only, never to
the run's log (Python's logging, which Hydra's job logging sends to `train.log` and to
stdout), and the one setting that does not redraw a bar into a file, `verbose=2`, writes
only at an epoch's end. An epoch of ten minutes under nohup, Slurm or CI was ten minutes
of silence, and `train.log` held no epoch at all. `ProgressLog` logs through this module's
logger instead; in a terminal, Keras' bar shows the same and these lines stay in the log.
"""

import logging
import sys
import time
from collections.abc import Callable

import keras
import numpy as np

log = logging.getLogger(__name__)


def keras_verbose() -> int:
    """`fit`'s `verbose`: Keras' progress bar in a terminal; elsewhere none where this
    module's lines are shown (its logger logs INFO), Keras' line per epoch where not (a
    notebook or script with Python's logging left unconfigured)."""
    if sys.stdout.isatty():
        return 1
    return 0 if log.isEnabledFor(logging.INFO) else 2


class _OffTerminals(logging.Filter):
    """Keeps progress lines off a terminal: a line in the middle of Keras' bar breaks its
    redrawing, and the bar shows the same figures."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != log.name


def _terminal_handlers() -> list:
    """The handlers of the root logger that write to a terminal (Hydra's console one)."""
    return [
        handler
        for handler in logging.getLogger().handlers
        if type(handler) is logging.StreamHandler
        and getattr(handler.stream, "isatty", lambda: False)()
    ]


def _figure(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.4g}"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressLog(keras.callbacks.Callback):
    """Logs one line per epoch with every figure of its logs (training loss and metrics,
    validation's, the learning rate it trained at, its seconds) and, during an epoch, a
    line every `every_seconds`: step/steps, loss, steps/s and the epoch's time left.

    Put it after the callbacks that add figures to the logs (validation, early stopping)
    and before any that changes the learning rate (`PlateauDecay`). Both training loops
    run it: `fit`, and the multi-worker loop, which passes `epochs` and `steps` as
    `fit` does in the callbacks' params.

    Args:
        every_seconds: seconds between lines during an epoch; 0 logs none.
        clock: seconds from a monotonic clock (tests pass a fake one).
    """

    def __init__(self, every_seconds: float, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.every_seconds = every_seconds
        self.clock = clock
        self.filter = _OffTerminals()
        self.filtered = []
        self.last_epoch_steps = None
        self.epoch_start = self.last_line = 0.0
        self.steps_done = 0

    def on_train_begin(self, logs=None):
        self.filtered = _terminal_handlers()
        for handler in self.filtered:
            handler.addFilter(self.filter)

    def on_train_end(self, logs=None):
        for handler in self.filtered:
            handler.removeFilter(self.filter)
        self.filtered = []

    def _epochs(self, epoch: int) -> str:
        epochs = self.params.get("epochs")
        return f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = self.last_line = self.clock()
        self.steps_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1
        if self.every_seconds <= 0:
            return
        now = self.clock()
        if now - self.last_line < self.every_seconds:
            return
        self.last_line = now
        elapsed = max(now - self.epoch_start, 1e-9)
        rate = self.steps_done / elapsed
        # Keras knows an epoch's steps when the dataset's cardinality is known; otherwise
        # the previous epoch's count stands for it (epochs are equal but for the last pass).
        steps = self.params.get("steps") or self.last_epoch_steps
        parts = [f"{self._epochs(self.epoch)} - step {self.steps_done}"]
        if steps:
            parts[0] += f"/{steps}"
        loss = (logs or {}).get("loss")
        if loss is not None:
            parts.append(f"loss: {_figure(loss)}")
        parts.append(f"{rate:.2f} steps/s")
        if steps and steps >= self.steps_done:
            parts.append(f"{_duration((steps - self.steps_done) / rate)} left")
        log.info(" - ".join(parts))

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        # The rate the epoch's last step trained at: the schedule's value at the
        # optimizer's count, or the variable `PlateauDecay` sets.
        return float(np.asarray(keras.ops.convert_to_numpy(optimizer.learning_rate)))

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.clock() - self.epoch_start
        self.last_epoch_steps = self.steps_done or self.last_epoch_steps
        # The loss first, as Keras shows it; then the logs in their order.
        figures = {"loss": None, **(logs or {})}
        if figures["loss"] is None:
            del figures["loss"]
        if "learning_rate" not in figures:
            rate = self._learning_rate()
            if rate is not None:
                figures["learning_rate"] = rate
        shown = [
            f"{name}: {_figure(value)}"
            for name, value in figures.items()
            if np.ndim(value) == 0 and not isinstance(value, str)
        ]
        speed = ""
        if self.steps_done and seconds > 0:
            speed = f" ({self.steps_done / seconds:.2f} steps/s)"
        log.info(
            "%s - %s - %s%s",
            self._epochs(epoch),
            " - ".join(shown),
            _duration(seconds) if seconds >= 60 else f"{seconds:.1f} s",
            speed,
        )
