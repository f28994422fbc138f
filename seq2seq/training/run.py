"""One training run, whatever the strategy: what Keras' `fit` loop (`keras_fit.py`) and the
multi-worker loop (`distribute.py`) share, held by one object instead of passed around.

`TrainingRun.from_config` resolves, once, what the run reads of its config (the trainer's
and logging's settings as typed values, the seed, whether this process is the chief, how
to build the model, what the export normalizes, what TensorBoard shows at the start): no
config rides along. `build` makes the compiled model and its evaluator under the
strategy's scope; `callbacks` are the epoch's callbacks in their order (validation, early
stopping, TensorBoard, checkpoints); `train` runs a loop, which only trains, and does what
both loops do around it (timing, the optimizer's count, a failure's record), then `record`
keeps the best or averaged weights and `finish` saves, exports and measures the model.
"""

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from seq2seq.base.errors import RunError
from seq2seq.base.files import display_path
from seq2seq.config.schema import LoggingConfig, TrainerConfig
from seq2seq.decoding import length_bound
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.logs import tensorboard_summaries
from seq2seq.model.families import build_model
from seq2seq.run.run_dir import is_chief_process
from seq2seq.text.text_rules import run_normalization
from seq2seq.training import distribute, finish, init_from
from seq2seq.training.callbacks import BestEpoch, PlateauDecay, epoch_callbacks
from seq2seq.training.compile import compile_model, warmup_steps
from seq2seq.training.finish import Metrics, Trained, decoding_evaluator, write_run_record
from seq2seq.training.kept import keep_averaged, keep_best

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainingRun:
    """One run being trained: its directory, data, strategy and resolved settings, and
    once built, its model, evaluator and early stopping.

    Args:
        path: the run directory.
        task_data: the run's data (`seq2seq.data.load.load_task_data`).
        strategy: the `tf.distribute` strategy (`distribute.make_strategy`).
        facts: what run.json records of the machine (the precision and why).
        trainer: the `trainer` settings, typed (`seq2seq.config.schema.TrainerConfig`).
        logging: the `logging` settings (`LoggingConfig`).
        seed: the seed of the epochs' order.
        chief: whether this process writes the run's files (always, but under multi_worker).
        new_model: builds the run's model, uncompiled.
        normalization: what the export normalizes its text with (`task.normalize`).
        start: what TensorBoard shows of the run as it starts.
        resuming: whether the run continues the one in `path`.
        started: `time.perf_counter()` when the run started, where `trainer.time_budget`'s
            clock starts (None: not timed).
    """

    path: Path
    task_data: object
    strategy: tf.distribute.Strategy
    facts: dict
    trainer: TrainerConfig
    logging: LoggingConfig
    seed: int
    chief: bool
    new_model: Callable
    normalization: object
    start: tensorboard_summaries.RunStart
    resuming: bool = False
    model: object = None
    evaluator: Evaluator | None = None
    best: BestEpoch | None = None
    plateau: PlateauDecay | None = None
    first_epoch: int = 0
    parent: dict | None = None
    started: float | None = None

    @classmethod
    def from_config(cls, cfg: DictConfig, path: Path, task_data, strategy, facts: dict,
                    resuming: bool = False, started: float | None = None) -> "TrainingRun":  # fmt: skip
        """The run, with what it reads of `cfg` resolved here and nowhere later.

        Args:
            cfg: the run's validated config, its time budget's plan applied.
            path, task_data, strategy, facts, resuming, started: as the fields.
        """
        sizes = task_data.vocabs.model_sizes()
        # Typed values (the schema's dataclasses), not the config: nothing later reads it.
        return cls(
            path, task_data, strategy, facts,
            trainer=OmegaConf.to_object(cfg.trainer),
            logging=OmegaConf.to_object(cfg.logging),
            seed=cfg.seed,
            chief=is_chief_process(cfg),
            new_model=functools.partial(build_model, OmegaConf.to_object(cfg.model), *sizes),
            normalization=run_normalization(cfg.task),
            start=tensorboard_summaries.run_start(cfg, display_path(path)),
            resuming=resuming,
            started=started,
        )  # fmt: skip

    def build(self, total_steps: int) -> None:
        """Builds and compiles the model under the strategy's scope, and its evaluator,
        which decodes to the run's length bound (fitted and saved by `train`).

        A fine-tuned run (`trainer.init_from`) starts from its parent's weights, frozen
        where asked; a resumed one then loads its checkpoint over them."""
        trainer = self.trainer
        with distribute.scope(self.strategy):
            self.model = self.new_model()
            if trainer.init_from is not None:
                self.parent = init_from.start_from_parent(
                    self.model, self.path, trainer, self.task_data.vocabs, self.resuming,
                    warmup_steps(trainer, total_steps),
                )  # fmt: skip
            compile_model(self.model, trainer, total_steps=total_steps)
        self.evaluator = Evaluator(
            self.model,
            trainer.batch_size,
            target_vocab=self.task_data.vocabs.target,
            bound=length_bound.load(self.path),
        )

    def start_early_stopping(self, saved: dict | None = None) -> BestEpoch | None:
        """Early stopping as `trainer.early_stopping` says (None when its monitor is off),
        from the state a resumed checkpoint recorded."""
        watch = self.trainer.early_stopping
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
        trainer = self.trainer
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
        """The epoch's callbacks in their order (`callbacks.epoch_callbacks`)."""
        return epoch_callbacks(self, extra)

    def stopped_already(self) -> bool:
        """Whether a resumed run had stopped early: it only finishes its final save."""
        saved = self.best.saved if self.best is not None else None
        return bool(saved and (saved["stopped_epoch"] or saved.get("goal_reached")))

    def train(self, loop: Callable[[], Trained]) -> Metrics:
        """Runs a loop over the built run, then finishes it: what both loops do around
        their training. A loop that fails is recorded in run.json; the optimizer's updates
        are counted, not computed (its own count, over every process of a resumed run,
        which the checkpoint restores), before the best epoch's weights bring back that
        epoch's count.

        Args:
            loop: trains, and reports what it did.

        Returns:
            The final metrics, measured by every process, written by the chief.
        """
        optimizer = self.model.optimizer
        steps_before = int(optimizer.iterations.numpy())
        start = time.perf_counter()
        try:
            trained = loop()
        except RunError as error:
            write_run_record(self.path, {"status": "failed", "error": str(error)})
            raise
        seconds = time.perf_counter() - start
        steps = int(optimizer.iterations.numpy())
        if not self.chief:
            if trained.best_weights is not None:
                self.model.set_weights(trained.best_weights)
            return self.measure()
        kept = self.keep_weights(trained.epochs_done, trained.best_weights)
        record = self.record(
            trained.epochs_done, kept,
            train_steps=steps, train_steps_this_process=steps - steps_before, **trained.more,
        )  # fmt: skip
        return self.finish(trained.epochs_done - self.first_epoch, seconds, record)

    def keep_weights(self, epochs_done: int, best_weights=None) -> dict:
        """Loads the weights the run keeps: the best epoch's, then the average of the
        checkpoints asked for (`kept.keep_best`, `kept.keep_averaged`).

        Returns:
            What run.json says of them.
        """
        kept = keep_best(self.model, self.path, self.best, epochs_done, best_weights)
        return keep_averaged(self.model, self.path, self.trainer.average_checkpoints, kept)

    def record(self, epochs_done: int, kept: dict, **more) -> dict:
        """What run.json says of the training, from `keep_weights`'s `kept` and `more`."""
        return {
            **self.facts,
            "strategy": self.trainer.strategy,
            "replicas": self.strategy.num_replicas_in_sync,
            "resumed_from_epoch": self.first_epoch + 1 if self.resuming else None,
            **({"init_from": self.parent} if self.parent is not None else {}),
            "epochs_trained": epochs_done,
            **kept,
            "data": self.task_data.record,
            **more,
        }

    def finish(self, trained_epochs: int, train_seconds: float, record: dict) -> Metrics:
        """Saves and exports the model, measures it, writes run.json, then metrics.json.

        What is saved, exported and measured computes in float32 whatever the training
        precision (`finish.decoding_evaluator`), so that the final figures are
        `evaluate`'s and the export serves what `predict` prints; run.json says so
        (`decoding_precision`).

        Args:
            trained_epochs: epochs this process trained (fewer than all when resumed).
            train_seconds: how long this process trained.
            record: `record`'s, with the optimizer steps.

        Returns:
            `{"val": {...}, "test": {...}}`, as `finish.measure` returns them.
        """
        evaluator = finish.save_and_export(
            self.evaluator, self.path, self.task_data.vocabs, self.normalization
        )
        metrics = finish.measure(evaluator, self.task_data)
        # An epoch is a pass, or `steps_per_epoch` batches of the stream of passes.
        per_epoch = len(self.task_data.train)
        if self.trainer.steps_per_epoch:
            per_epoch = self.trainer.steps_per_epoch * self.trainer.batch_size
        record = {
            "status": "completed",
            **record,
            "decoding_precision": evaluator.model.compute_dtype,
            "train_seconds": round(train_seconds, 2),
            "train_sequences_per_second": round(
                per_epoch * trained_epochs / max(train_seconds, 1e-9)
            ),
        }
        epochs = record.get("epochs_trained", self.trainer.epochs)
        finish.write_finished(self.path, metrics, record, epochs)
        return metrics

    def measure(self) -> Metrics:
        """The val and test metrics, measured and written nowhere (a non-chief worker's),
        in float32 as the chief's (`finish.decoding_evaluator`)."""
        evaluator = decoding_evaluator(self.evaluator)
        return {split: evaluator(self.task_data.split(split)) for split in ("val", "test")}
