"""`trainer.time_budget`: a run that plans its length to end within a given time.

fairseq's `--stop-time-hours`, Sockeye's `--max-seconds` and Lightning's `max_time` stop a
run where the clock runs out, mid-schedule. Here the run first times a few training steps
and validation passes on a throwaway copy of its model (`measure`), then fixes how many
steps the budget holds once what the rest of the run needs is reserved (`plan`): the
run's own first step (tracing its graph again), a validation pass per epoch, and the
finish (the float32 copy traced, validation and test measured, the model saved and
exported). The steps are cut into `trainer.epochs` epochs; the warmup, the schedule
(which decays over the run's steps) and the averaging window follow from them
(`apply`). The plan is saved in the run directory before the first epoch, so that a
resumed run trains the same steps on the same schedule (`planned`).

The budget's clock starts when training starts (`seq2seq.training.trainer.train_in`,
TensorFlow loaded) and stops once metrics.json is written.
"""

import dataclasses
import json
import logging
import math
import time
from pathlib import Path

import keras
from omegaconf import DictConfig

from seq2seq.base.errors import ConfigError
from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import TIME_BUDGET_PLAN
from seq2seq.config.constraints import duration_seconds
from seq2seq.data import pipeline
from seq2seq.decoding import length_bound
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.model.families import build_model
from seq2seq.training import distribute
from seq2seq.training.compile import compile_model

log = logging.getLogger(__name__)

#: Training steps are timed on the throwaway model, after the first (which traces the
#: graph, timed apart), for `PROBE_SHARE` of the budget, at least `PROBE_SECONDS` and at
#: most `PROBE_MAX_SECONDS`, and for at least `PROBE_STEPS` and at most `PROBE_MAX_STEPS`
#: steps: ten 5 ms steps of a toy model measured 5.5 ms against the run's 8.6 ms; ten steps
#: of the CMUdict recipe (group_by_length: each batch of its own length) ranged from 221 to
#: 348 ms a step in windows of one 224-step probe (268 ms on average) on a 2-core AMD EPYC:
#: the 45-minute recipe's 27 s probe averages ~100 steps.
PROBE_SHARE = 0.01
PROBE_SECONDS = 2.0
PROBE_MAX_SECONDS = 30.0
PROBE_STEPS = 10
PROBE_MAX_STEPS = 1000
#: The share of the time left for training that the planned steps may take: the rest
#: absorbs what is not measured (checkpoints, TensorBoard's figures each epoch, the run's
#: per-step callbacks: a toy run's 9 ms steps took 14.7 ms under them on a loaded 2-core
#: AMD EPYC) and the noise of a shared machine. 0.75 left 7 and 17 of the CMUdict recipe's
#: 45 minutes unspent (its steps ran 13% slower and 15% faster than timed); a machine that
#: gets slower than timed is `budget_guard.BudgetGuard`'s to catch.
STEP_SHARE = 0.85
#: What the run's own per-step callbacks (the loss check, the progress lines, TensorBoard's
#: step figures, Keras' logs) add to each step, which the throwaway model runs without: a
#: toy's steps timed at 7 ms took 13 ms in its run on a loaded 2-core AMD EPYC Zen 4; a few
#: percent of the real-data setting's 100 ms steps.
CALLBACK_SECONDS_PER_STEP = 0.006
#: The warmup takes at most this share of the planned steps: a `trainer.warmup_steps`
#: written for a longer run would keep a short one's rate low throughout.
WARMUP_SHARE = 0.1
#: The finish measures validation and test in a float32 copy (tracing its decoding again)
#: and saves and exports the model: reserved as a pass over both splits at validation's
#: pace plus this many first validation passes (which trace the decoding): on the toy
#: task the finish took 6.3 s where its first validation pass took 4.3 s.
FINISH_TRACES = 1.5


@dataclasses.dataclass(frozen=True)
class Timing:
    """What `measure` timed, in seconds.

    Attributes:
        first_step: the first training step, tracing its graph included.
        step: a training step after it, on average.
        first_validation: the first validation pass, tracing the decoding included.
        validation: a later validation pass.
    """

    first_step: float
    step: float
    first_validation: float
    validation: float


class _StepClock(keras.callbacks.Callback):
    """The time at which each call into the training graph ended, with its last step;
    stops training once `seconds` and `PROBE_STEPS` have passed after the first."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start, self.ends = time.perf_counter(), []

    def on_train_batch_end(self, batch, logs=None):
        # Read as the run's StopOnNonFiniteLoss reads it, which waits for each step.
        float((logs or {}).get("loss", 0.0))
        now = time.perf_counter()
        self.ends.append((batch, now))
        first, first_end = self.ends[0]
        if batch - first >= PROBE_STEPS and now - first_end >= self.seconds:
            self.model.stop_training = True


def probe_seconds(budget_seconds: float) -> float:
    """How long `measure` times training steps for a budget of `budget_seconds`."""
    return min(max(PROBE_SHARE * budget_seconds, PROBE_SECONDS), PROBE_MAX_SECONDS)


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(cfg: DictConfig, path: Path, task_data, strategy) -> Timing:
    """Times training steps and validation passes of a throwaway copy of the run's model,
    built, compiled and run as the run's will be (precision, strategy, batches).

    Args:
        cfg: the run's config.
        path: the run directory (its length bound, which validation decodes to).
        task_data: the run's data.
        strategy: the run's `tf.distribute` strategy.

    Returns:
        The timings.
    """
    trainer = cfg.trainer
    # Two calls after the first at least, whatever the steps per call.
    steps = max(PROBE_MAX_STEPS, 3 * trainer.steps_per_execution)
    with distribute.scope(strategy):
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, trainer, total_steps=steps)
    batches = pipeline.training_dataset(
        task_data.train, trainer.batch_size, cfg.seed, 0, 1, trainer.group_by_length, steps
    )
    clock = _StepClock(probe_seconds(duration_seconds(trainer.time_budget)))
    model.fit(batches, epochs=1, steps_per_epoch=steps, callbacks=[clock], verbose=0, shuffle=False)
    (first, first_end), (last, last_end) = clock.ends[0], clock.ends[-1]
    evaluator = Evaluator(
        model, trainer.batch_size, target_vocab=task_data.vocabs.target,
        bound=length_bound.load(path),
    )  # fmt: skip
    first_validation = _timed(lambda: evaluator(task_data.val))
    validation = _timed(lambda: evaluator(task_data.val))
    return Timing(
        first_step=first_end - clock.start,
        step=(last_end - first_end) / (last - first),
        first_validation=first_validation,
        validation=validation,
    )


def plan(
    budget: str, elapsed: float, timing: Timing, trainer, held_out_ratio: float
) -> dict:  # fmt: skip
    """How many steps the budget holds, and how they are spent.

    Args:
        budget: `trainer.time_budget` as written.
        elapsed: seconds of the budget spent already (the data read, `measure`).
        timing: `measure`'s.
        trainer: the `trainer` config group as the user set it.
        held_out_ratio: the validation and test sequences over the validation ones (what
            the finish measures, against a validation pass).

    Returns:
        The plan, as time_budget.json and run.json's `time_budget` hold it: `steps`,
        `epochs`, `steps_per_epoch`, `warmup_steps`, `average_checkpoints`, the seconds
        measured and reserved, and `reason`.

    Raises:
        ConfigError: when what the run needs besides training leaves no step.
    """
    seconds = duration_seconds(budget)
    epochs_wanted = trainer.epochs
    validations = timing.first_validation + (epochs_wanted - 1) * timing.validation
    finish = FINISH_TRACES * timing.first_validation + timing.validation * held_out_ratio
    reserve = timing.first_step + validations + finish
    left = seconds - elapsed - reserve
    step = timing.step + CALLBACK_SECONDS_PER_STEP
    steps = math.floor(STEP_SHARE * left / step) if left > 0 else 0
    if steps < 1:
        need = math.ceil(elapsed + reserve + step / STEP_SHARE)
        raise ConfigError(
            "trainer.time_budget", budget,
            f"leaves no time to train: {elapsed:.1f} s spent reading the data and timing "
            f"{timing.step * 1000:.0f} ms steps, {reserve:.1f} s needed for tracing, "
            f"validation and the finish; allowed: at least {need}s, or fewer trainer.epochs",
        )  # fmt: skip
    epochs = min(epochs_wanted, steps)
    per_epoch = steps // epochs
    total = per_epoch * epochs
    average = trainer.average_checkpoints
    if average and epochs < epochs_wanted:  # the same share of the run as asked
        average = max(1, round(average * epochs / epochs_wanted))
    warmup = min(trainer.warmup_steps, int(total * WARMUP_SHARE))
    return {
        "budget": budget,
        "budget_seconds": seconds,
        "elapsed_before_plan_seconds": round(elapsed, 2),
        "measured": {name: round(value, 4) for name, value in dataclasses.asdict(timing).items()},
        "reserved_seconds": {
            "first_step": round(timing.first_step, 2),
            "validation": round(validations, 2),
            "finish": round(finish, 2),
        },
        "step_share": STEP_SHARE,
        "steps": total,
        "epochs": epochs,
        "steps_per_epoch": per_epoch,
        "warmup_steps": warmup,
        "average_checkpoints": average,
        "reason": (
            f"{seconds:g} s, less {elapsed:.1f} s spent and {reserve:.1f} s reserved, leaves "
            f"{left:.1f} s; {STEP_SHARE:g} of it holds {steps} steps of "
            f"{step * 1000:.1f} ms ({timing.step * 1000:.1f} ms timed, "
            f"{CALLBACK_SECONDS_PER_STEP * 1000:g} ms for the callbacks): "
            f"{epochs} epochs of {per_epoch}"
        ),
    }


def apply(cfg: DictConfig, planned: dict) -> DictConfig:
    """A copy of `cfg` whose trainer trains the plan: its epochs and their steps, its warmup
    and averaging window; the schedule decays over those steps (`compile.learning_rate`)."""
    cfg = cfg.copy()
    for key in ("epochs", "steps_per_epoch", "warmup_steps", "average_checkpoints"):
        cfg.trainer[key] = planned[key]
    return cfg


def planned(
    cfg: DictConfig, path: Path, task_data, strategy, resuming: bool, started: float
) -> tuple[DictConfig, dict | None]:  # fmt: skip
    """The run's config with its budget's plan applied, and the plan (None without one).

    A resumed run reads the plan its first process saved; a fresh one measures and plans,
    and saves the plan. Either way the global seed is set again afterwards, so that the
    model is built from the same random state whether the throwaway one was built or not.

    Args:
        cfg: the run's config.
        path: the run directory.
        task_data: the run's data.
        strategy: the run's `tf.distribute` strategy.
        resuming: whether the run continues the one in `path`.
        started: `time.perf_counter()` when the run started: where the budget's clock starts.

    Raises:
        ConfigError: when the budget holds no step (`plan`).
    """
    if cfg.trainer.time_budget is None:
        return cfg, None
    saved = path / TIME_BUDGET_PLAN
    if resuming and saved.is_file():
        record = json.loads(saved.read_text())
        log.info("Time budget: keeping the plan in %s: %s", TIME_BUDGET_PLAN, record["reason"])
    else:
        timing = measure(cfg, path, task_data, strategy)
        ratio = (len(task_data.val) + len(task_data.test)) / max(1, len(task_data.val))
        elapsed = time.perf_counter() - started
        record = plan(cfg.trainer.time_budget, elapsed, timing, cfg.trainer, ratio)
        atomic_write_text(saved, json.dumps(record, indent=2) + "\n")
        log.info("Time budget: %s", record["reason"])
    keras.utils.set_random_seed(cfg.seed)
    return apply(cfg, record), record
