"""`trainer.time_budget`'s guard: a run whose machine got busier than when its steps were
timed (`time_budget.measure`) ends after the epoch past which it would overrun its budget."""

import logging
import time

import keras

log = logging.getLogger(__name__)


class BudgetGuard(keras.callbacks.Callback):
    """Ends training after an epoch when the epochs left, at the pace this run's epochs
    took, and the finish would end past the budget: the plan was fixed from the first
    steps, and a machine that got busier since (a 20-minute run planned at 266 ms a step
    ended 92 s late on a loaded 2-core AMD EPYC) would otherwise overrun it. The averaging
    window then ends at the last epoch trained, as after early stopping. Put it after the
    checkpointer, so that the epochs it times include their checkpoints.

    Args:
        budget_seconds: the budget.
        started: `time.perf_counter()` where the budget's clock started.
        finish_seconds: what the plan reserved for the finish.
        epochs: the epochs the plan trains.
        clock: the time, in seconds (tests give their own).

    Attributes:
        stopped: None, or `{"after_epoch", "reason"}` once it ended training early.
    """

    def __init__(self, budget_seconds, started, finish_seconds, epochs, clock=time.perf_counter):
        super().__init__()
        self.budget, self.started, self.finish = budget_seconds, started, finish_seconds
        self.epochs, self.clock, self.stopped = epochs, clock, None

    def on_train_begin(self, logs=None):
        self.fit_started, self.done = self.clock(), 0

    def on_epoch_end(self, epoch, logs=None):
        self.done += 1
        now = self.clock()
        pace = (now - self.fit_started) / self.done
        left = self.epochs - (epoch + 1)
        end = now - self.started + left * pace + self.finish
        if left > 0 and end > self.budget:
            reason = (
                f"the {left} epochs left, at {pace:.1f} s each as measured, and the finish "
                f"would end at {end:.0f} s of the {self.budget:g} s budget"
            )
            log.warning(
                "Time budget: ending after epoch %d of %d: %s", epoch + 1, self.epochs, reason
            )
            self.stopped = {"after_epoch": epoch + 1, "reason": reason}
            self.model.stop_training = True
