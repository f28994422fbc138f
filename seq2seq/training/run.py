"""One training run, whatever the strategy: what Keras' `fit` loop (`keras_fit.py`) and the
multi-worker loop (`distribute.py`) share, held by one object instead of passed around.

`TrainingRun` holds the config, the run directory, the data, the strategy and the facts
for run.json; `build` makes the compiled model and its evaluator under the strategy's
scope; `callbacks` are the epoch's callbacks in their order (validation, early stopping,
TensorBoard, checkpoints); `keep_best` loads the best epoch's weights; `record` and
`finish` write the run's records and save and measure the model. Each loop only trains.
"""

import dataclasses
import logging
from pathlib import Path

import tensorflow as tf

from seq2seq.base.names import CHECKPOINTS_DIR, TENSORBOARD_DIR
from seq2seq.decoding import length_bound
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.logs.progress import ProgressLog
from seq2seq.model.families import build_model
from seq2seq.run.run_dir import is_chief_process
from seq2seq.training import distribute, init_from
from seq2seq.training.callbacks import (
    BestEpoch,
    FlushingTensorBoard,
    GreedyValidation,
    PlateauDecay,
    StepValidation,
    StopOnNonFiniteLoss,
    TensorBoardExtras,
)
from seq2seq.training.compile import compile_model, warmup_steps
from seq2seq.training.finish import Metrics, decoding_evaluator, save_and_measure
from seq2seq.weights import averaging, checkpoints
from seq2seq.weights.ema import EmaIn, EmaOut

log = logging.getLogger(__name__)


def _display_name(run_dir: Path) -> str:
    """The run directory relative to the working directory when inside it, as users see it."""
    try:
        return str(run_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(run_dir)


@dataclasses.dataclass
class TrainingRun:
    """One run being trained: its config, directory, data and strategy, and once built, its
    model, evaluator and early stopping.

    Args:
        cfg: the run's validated config.
        path: the run directory.
        task_data: the run's data (`seq2seq.data.load.load_task_data`).
        strategy: the `tf.distribute` strategy (`distribute.make_strategy`).
        facts: what run.json records of the machine (the precision and why).
        resuming: whether the run continues the one in `path`.
        started: `time.perf_counter()` when the run started, where `trainer.time_budget`'s
            clock starts (None: not timed).
    """

    cfg: object
    path: Path
    task_data: object
    strategy: tf.distribute.Strategy
    facts: dict
    resuming: bool = False
    model: object = None
    evaluator: Evaluator | None = None
    best: BestEpoch | None = None
    plateau: PlateauDecay | None = None
    first_epoch: int = 0
    parent: dict | None = None
    started: float | None = None

    @property
    def chief(self) -> bool:
        """Whether this process writes the run's files (always, but under multi_worker)."""
        return is_chief_process(self.cfg)

    def build(self, total_steps: int) -> None:
        """Builds and compiles the model under the strategy's scope, and its evaluator,
        which decodes to the run's length bound (fitted and saved by `train`).

        A fine-tuned run (`trainer.init_from`) starts from its parent's weights, frozen
        where asked; a resumed one then loads its checkpoint over them."""
        trainer = self.cfg.trainer
        with distribute.scope(self.strategy):
            self.model = build_model(self.cfg.model, *self.task_data.vocabs.model_sizes())
            if trainer.init_from is not None:
                self.parent = init_from.start_from_parent(
                    self.model, self.path, trainer, self.task_data.vocabs, self.resuming,
                    warmup_steps(trainer, total_steps),
                )  # fmt: skip
            compile_model(self.model, trainer, total_steps=total_steps)
        self.evaluator = Evaluator(
            self.model,
            self.cfg.trainer.batch_size,
            target_vocab=self.task_data.vocabs.target,
            bound=length_bound.load(self.path),
        )

    def start_early_stopping(self, saved: dict | None = None) -> BestEpoch | None:
        """Early stopping as `trainer.early_stopping` says (None when its monitor is off),
        from the state a resumed checkpoint recorded."""
        watch = self.cfg.trainer.early_stopping
        if watch.monitor == "off":
            return None
        if saved is not None and "early_stopping" not in saved:
            log.warning("The checkpoint resumed from has no early-stopping state: it starts afresh")
        state = (saved or {}).get("early_stopping")
        self.best = BestEpoch(watch.monitor, watch.patience, watch.min_delta, watch.goal, state)
        return self.best

    def start_lr_decay(self, saved: dict | None = None) -> PlateauDecay | None:
        """The learning rate's decay on plateau when `trainer.lr_schedule=plateau` (None
        otherwise), watching `trainer.plateau.monitor`, from a resumed checkpoint's state."""
        trainer = self.cfg.trainer
        if trainer.lr_schedule != "plateau":
            return None
        state = (saved or {}).get("plateau")
        if saved is not None and state is None:
            log.warning("The checkpoint resumed from has no plateau state: it starts afresh")
        plateau = trainer.plateau
        self.plateau = PlateauDecay(
            plateau.monitor, plateau.factor, plateau.patience,
            plateau.min_learning_rate, state,
        )  # fmt: skip
        return self.plateau

    def _watch_state(self) -> dict:
        """What latest.json records of early stopping and the plateau decay."""
        watchers = (self.best, self.plateau)
        return {k: v for w in watchers if w is not None for k, v in w.state().items()}

    def callbacks(self, extra=()) -> list:
        """The epoch's callbacks, in order: validation first, then what reads its figures
        (early stopping, TensorBoard); each epoch's logs and summaries are complete and on
        disk before its checkpoint is written (last), so a checkpoint never outlives them."""
        cfg, run_dir, best, plateau = self.cfg, self.path, self.best, self.plateau
        average = cfg.trainer.average_checkpoints
        writer = tf.summary.create_file_writer(str(run_dir / TENSORBOARD_DIR))
        tensorboard = FlushingTensorBoard(
            str(run_dir / TENSORBOARD_DIR),
            histogram_freq=cfg.logging.histogram_freq,
            write_graph=False,
        )
        ema = cfg.trainer.ema_momentum is not None
        return [
            # First: every callback up to the checkpoint reads the moving average.
            *([EmaIn()] if ema else []),
            StopOnNonFiniteLoss(run_dir / CHECKPOINTS_DIR),
            GreedyValidation(self.evaluator, self.task_data.val),
            *([best] if best is not None else []),
            # After the figures it logs are all in, before PlateauDecay changes the rate.
            ProgressLog(cfg.trainer.progress_seconds),
            TensorBoardExtras(
                writer,
                cfg,
                self.task_data.vocabs,
                self.task_data.val,
                bound=self.evaluator.bound,
                samples=cfg.logging.samples,
                images=cfg.logging.images,
                run_name=_display_name(run_dir),
                first_epoch=self.first_epoch,
            ),
            tensorboard,
            # After TensorBoard, whose validation writer it writes to and flushes.
            StepValidation(
                self.evaluator,
                self.task_data.val,
                cfg.logging.validation_points_per_epoch,
                tensorboard,
            ),
            # After TensorBoard, which logs the rate the epoch trained at, before the
            # checkpoint, which saves the decayed one.
            *([plateau] if plateau is not None else []),
            *extra,
            checkpoints.Checkpointer(
                run_dir / CHECKPOINTS_DIR,
                before_save=writer.flush,
                extra_state=self._watch_state,
                keep=cfg.trainer.keep_checkpoints,
                protected=(
                    (lambda: averaging.protected_epochs(best.best_epoch + 1, average))
                    if best is not None
                    else None
                ),
            ),
            *([EmaOut()] if ema else []),
        ]

    def stopped_already(self) -> bool:
        """Whether a resumed run had stopped early: it only finishes its final save."""
        saved = self.best.saved if self.best is not None else None
        return bool(saved and (saved["stopped_epoch"] or saved.get("goal_reached")))

    def keep_best(self, epochs_done: int, best_weights=None) -> dict:
        """Loads the best epoch's weights when early stopping watched a metric; says what
        the run keeps and why it stopped, for run.json. A best epoch's checkpoint that is
        gone leaves the last epoch's weights, with a warning and `missing_checkpoints`.

        Args:
            epochs_done: epochs trained, over every process of the run.
            best_weights: the best epoch's weights held in memory (`model.get_weights()`),
                if this process has them; otherwise its checkpoint is loaded.
        """
        best = self.best
        if best is None:
            return {"final_epoch": epochs_done, "stopped": "after trainer.epochs"}
        best_epoch = kept_epoch = best.best_epoch + 1
        missing = {}
        if best_epoch != epochs_done:
            path = self.path / CHECKPOINTS_DIR / checkpoints.weights_name(best_epoch)
            if best_weights is not None:
                self.model.set_weights(best_weights)
            elif path.is_file():
                self.model.load_weights(path)
            else:
                # Lost (a deleted checkpoints/, a file removed by hand): the run finishes
                # with the weights it holds, the last epoch's, rather than never.
                log.warning(
                    "%s, the best epoch's checkpoint, is missing: the final model keeps "
                    "the weights of epoch %d, the last trained",
                    path, epochs_done,
                )  # fmt: skip
                kept_epoch = epochs_done
                missing = {"missing_checkpoints": [path.name]}
        if best.goal_reached:
            stopped = f"early stopping: {best.watched} reached the goal {best.goal}"
        elif best.stopped_epoch:
            stopped = f"early stopping: {best.watched} did not improve for {best.wait} epochs"
        else:
            stopped = "after trainer.epochs"
        if not missing:
            log.info(
                "Keeping epoch %d, the best by %s (%s); %s",
                best_epoch, best.watched, best.best, stopped,
            )  # fmt: skip
        return {
            "final_epoch": kept_epoch,
            "best_epoch": best_epoch,
            "monitor": best.watched,
            "best_value": best.best,
            "stopped": stopped,
            **missing,
        }

    def keep_averaged(self, kept: dict) -> dict:
        """Averages the checkpoints `trainer.average_checkpoints` asks for into the model,
        ending at the kept epoch; `kept` (`keep_best`'s) gains the epochs averaged, those on
        disk, and the files missing among them in `missing_checkpoints`."""
        count = self.cfg.trainer.average_checkpoints
        if not count:
            return kept
        wanted = averaging.averaged_epochs(kept["final_epoch"], count)
        epochs = averaging.average_into(self.model, self.path / CHECKPOINTS_DIR, wanted)
        missing = [checkpoints.weights_name(e) for e in wanted if e not in epochs]
        if missing:
            kept = {**kept, "missing_checkpoints": [*kept.get("missing_checkpoints", ()), *missing]}
        return {**kept, "averaged_epochs": epochs}

    def record(self, epochs_done: int, best_weights=None, **more) -> dict:
        """What run.json says of the training, the best epoch's weights loaded first."""
        return {
            **self.facts,
            "strategy": self.cfg.trainer.strategy,
            "replicas": self.strategy.num_replicas_in_sync,
            "resumed_from_epoch": self.first_epoch + 1 if self.resuming else None,
            **({"init_from": self.parent} if self.parent is not None else {}),
            "epochs_trained": epochs_done,
            **self.keep_averaged(self.keep_best(epochs_done, best_weights)),
            "data": self.task_data.record,
            **more,
        }

    def finish(self, trained_epochs: int, train_seconds: float, record: dict) -> Metrics:
        """Saves, exports and measures the model; writes run.json, then metrics.json.

        Args:
            trained_epochs: epochs this process trained (fewer than all when resumed).
            train_seconds: how long this process trained.
            record: `record`'s, with the optimizer steps.
        """
        return save_and_measure(
            self.cfg, self.path, self.task_data, self.evaluator,
            trained_epochs, train_seconds, record,
        )  # fmt: skip

    def measure(self) -> Metrics:
        """The val and test metrics, measured and written nowhere (a non-chief worker's),
        in float32 as the chief's (`finish.decoding_evaluator`)."""
        evaluator = decoding_evaluator(self.evaluator)
        return {split: evaluator(self.task_data.split(split)) for split in ("val", "test")}
