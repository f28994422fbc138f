"""`train(cfg)`: one training run, from a validated config to a finished run directory."""

import contextlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seq2seq import checkpoints, data, distribute, summaries, tasks
from seq2seq.callbacks import (
    FlushingTensorBoard,
    GreedyValidation,
    StopOnNonFiniteLoss,
    TensorBoardExtras,
)
from seq2seq.events import truncate_events
from seq2seq.evaluation import Evaluator
from seq2seq.export import export_saved_model
from seq2seq.metrics import ExactMatch, token_accuracy
from seq2seq.model import build_model
from seq2seq_config import validate
from seq2seq_config.errors import RunError
from seq2seq_config.rundir import atomic_write_text, prepare_run_dir, write_overrides

log = logging.getLogger(__name__)

Metrics = Dict[str, Dict[str, float]]


def make_optimizer(trainer_cfg, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer named in the `trainer` config, with its schedule and clipping.

    Args:
        trainer_cfg: the `trainer` config group.
        total_steps: optimizer steps in the whole run, over which a schedule decays.
    """
    learning_rate = trainer_cfg.learning_rate
    if trainer_cfg.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.get(
        {
            "class_name": trainer_cfg.optimizer,
            "config": {"learning_rate": learning_rate, "clipnorm": trainer_cfg.clipnorm},
        }
    )


@contextlib.contextmanager
def dtype_policy(name: str):
    """Builds and runs models under Keras' dtype policy `name`, then restores the old one.

    A mixed policy keeps the weights in float32 and computes in bfloat16 or float16;
    under `mixed_float16` Keras' `compile` adds loss scaling itself.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def compile_model(model: keras.Model, trainer_cfg, total_steps: int) -> None:
    """Compiles with masked cross-entropy: the mean over real target tokens only."""
    model.compile(
        optimizer=make_optimizer(trainer_cfg, total_steps),
        steps_per_execution=trainer_cfg.steps_per_execution,
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        # Weighted, so that the padding mask passed as sample weight applies.
        weighted_metrics=[token_accuracy(), ExactMatch()],
    )


def _display_name(run_dir: Path) -> str:
    """The run directory relative to the working directory when inside it, as users see it."""
    try:
        return str(run_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(run_dir)


def _run_dir(run_dir: Optional[str]) -> Path:
    if run_dir is not None:
        return Path(run_dir)
    return Path(HydraConfig.get().runtime.output_dir)


def _callbacks(cfg, run_dir: Path, task_data, evaluator, first_epoch: int, extra) -> list:
    """The callbacks of `fit`, in order: each epoch's logs and summaries are complete and
    on disk before its checkpoint is written (last), so a checkpoint never outlives them."""
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard"))
    return [
        StopOnNonFiniteLoss(run_dir / "checkpoints"),
        GreedyValidation(evaluator, task_data.val),
        TensorBoardExtras(
            writer,
            cfg,
            task_data.vocab,
            task_data.val,
            samples=cfg.logging.samples,
            images=cfg.logging.images,
            run_name=_display_name(run_dir),
            first_epoch=first_epoch,
        ),
        FlushingTensorBoard(
            str(run_dir / "tensorboard"), histogram_freq=cfg.logging.histogram_freq, write_graph=False
        ),
        *extra,
        checkpoints.Checkpointer(run_dir / "checkpoints", before_save=writer.flush),
    ]


def _resume(model, run_dir: Path) -> int:
    """Loads the latest checkpoint of `run_dir`, if any, and rewinds TensorBoard to it.

    Returns:
        The epoch training resumes from (0 without a checkpoint).
    """
    directory = run_dir / "checkpoints"
    checkpoints.remove_temporary_files(directory)
    state = checkpoints.latest(directory)
    first_epoch = 0 if state is None else state["epoch"]
    if state is not None:
        checkpoints.restore(model, directory, state)
    dropped = truncate_events(run_dir / "tensorboard", first_epoch)
    log.info(
        "Resuming from epoch %d (%s); %d TensorBoard events of later steps dropped",
        first_epoch + 1,
        state["weights"] if state else "no checkpoint yet",
        dropped,
    )
    return first_epoch


def _write_run_record(run_dir: Path, record: dict) -> None:
    atomic_write_text(run_dir / "run.json", json.dumps(record, indent=2) + "\n")


def train(cfg: DictConfig, run_dir: Optional[str] = None, callbacks: Sequence = ()) -> Metrics:
    """Trains a model as `cfg` says and saves everything into the run directory.

    With `trainer.resume=true` and a run already in the directory, continues it from its
    last checkpoint and ends as the uninterrupted run would have.

    Args:
        cfg: the composed `train` config.
        run_dir: where to write; by default Hydra's output directory of this run.
        callbacks: more Keras callbacks for `fit`.

    Returns:
        `{"val": {...}, "test": {...}}`, each with loss, token_accuracy and exact_match.

    Raises:
        seq2seq_config.ConfigError: if a config value is not allowed.
        seq2seq_config.UserError: if the run directory holds another run.
        seq2seq_config.RunError: if the loss stops being finite.
    """
    validate(cfg)
    run_dir = _run_dir(run_dir)
    resuming = prepare_run_dir(cfg, run_dir)
    # Before any other TensorFlow op, as MultiWorkerMirroredStrategy requires.
    strategy = distribute.make_strategy(cfg.trainer.strategy)
    if resuming and (run_dir / "metrics.json").exists():
        log.info("The run in %s has finished already; nothing to resume", run_dir)
        return json.loads((run_dir / "metrics.json").read_text())
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_overrides(run_dir)
    keras.utils.set_random_seed(cfg.seed)
    # The same config and seed give the same run, and a resumed run the same weights.
    tf.config.experimental.enable_op_determinism()

    task_data, data_path = tasks.load_or_generate(cfg.task, cfg.seed, cfg.data_dir)
    task_data.vocab.save(run_dir / "vocab.json")
    log.info("Data: %s; run directory: %s", data_path, run_dir)

    with dtype_policy(cfg.trainer.precision):
        if cfg.trainer.strategy == "multi_worker":
            return _fit_multi_worker(cfg, run_dir, task_data, strategy)
        return _fit_and_save(cfg, run_dir, resuming, task_data, callbacks, strategy)


def _fit_and_save(cfg, run_dir: Path, resuming: bool, task_data, callbacks, strategy) -> Metrics:
    """Builds, fits, saves and measures the model with Keras' `fit`: the second half of
    `train` under the default and mirrored strategies."""
    trainer = cfg.trainer
    steps_per_epoch = data.steps_per_epoch(task_data.train, trainer.batch_size)
    with distribute.scope(strategy):
        model = build_model(cfg.model, task_data.vocab.size)
        compile_model(model, trainer, total_steps=steps_per_epoch * trainer.epochs)
    first_epoch = _resume(model, run_dir) if resuming else 0
    evaluator = Evaluator(model, trainer.batch_size)
    start = time.perf_counter()
    try:
        model.fit(
            data.training_dataset(
                task_data.train, trainer.batch_size, cfg.seed, first_epoch, trainer.epochs
            ),
            initial_epoch=first_epoch,
            epochs=trainer.epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=_callbacks(cfg, run_dir, task_data, evaluator, first_epoch, callbacks),
            shuffle=False,  # the dataset shuffles, per epoch, from the seed
            # A progress bar in a terminal; one line per epoch in logs, where Keras' bar
            # would print every update.
            verbose=1 if sys.stdout.isatty() else 2,
        )
    except RunError as error:
        _write_run_record(run_dir, {"status": "failed", "error": str(error)})
        raise
    train_seconds = time.perf_counter() - start
    record = {
        "strategy": trainer.strategy,
        "replicas": strategy.num_replicas_in_sync,
        "resumed_from_epoch": first_epoch + 1 if resuming else None,
    }
    return _save_and_measure(
        cfg, model, run_dir, task_data, evaluator, trainer.epochs - first_epoch, train_seconds, record
    )


def _save_and_measure(
    cfg, model, run_dir: Path, task_data, evaluator, trained_epochs, train_seconds, record
) -> Metrics:
    """Saves the trained model and its export, measures it, writes run.json and metrics.json."""
    trainer = cfg.trainer
    model.save(run_dir / "model.keras")
    export_saved_model(model, run_dir / "saved_model")

    metrics = {split: evaluator(task_data.split(split)) for split in ("val", "test")}
    summaries.write_final_metrics(run_dir / "tensorboard", metrics, step=trainer.epochs)
    steps_per_epoch = data.steps_per_epoch(task_data.train, trainer.batch_size)
    _write_run_record(
        run_dir,
        {
            "status": "completed",
            **record,
            "train_seconds": round(train_seconds, 2),
            "train_steps": steps_per_epoch * trained_epochs,
            "train_sequences_per_second": round(
                len(task_data.train) * trained_epochs / max(train_seconds, 1e-9)
            ),
        },
    )
    # Written last: its presence marks the run as finished.
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    log.info("Trained in %.1f s; final metrics: %s", train_seconds, json.dumps(metrics))
    return metrics


def _fit_multi_worker(cfg, run_dir: Path, task_data, strategy) -> Metrics:
    """Trains under MultiWorkerMirroredStrategy with the steps of `distribute.fit_custom`.

    Every worker trains; the chief alone writes each epoch's loss to TensorBoard, a
    checkpoint each epoch, and at the end the model, its export and the metrics.

    Returns:
        The final metrics (measured by every worker, written by the chief).
    """
    trainer = cfg.trainer
    chief = distribute.is_chief(strategy)
    steps_per_epoch = data.steps_per_epoch(task_data.train, trainer.batch_size)
    with strategy.scope():
        model = build_model(cfg.model, task_data.vocab.size)
        optimizer = make_optimizer(trainer, steps_per_epoch * trainer.epochs)
    writer = None
    if chief:
        writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / "train"))

    def on_epoch_end(epoch, loss):
        log.info("Epoch %d/%d - loss: %.4f", epoch + 1, trainer.epochs, loss)
        if chief:
            with writer.as_default(step=epoch):
                tf.summary.scalar("epoch_loss", loss)
            writer.flush()
            checkpoints.save(model, run_dir / "checkpoints", epoch + 1)

    start = time.perf_counter()
    distribute.fit_custom(
        model,
        optimizer,
        strategy,
        data.training_dataset(task_data.train, trainer.batch_size, cfg.seed, 0, trainer.epochs),
        trainer.epochs,
        steps_per_epoch,
        on_epoch_end,
    )
    train_seconds = time.perf_counter() - start
    evaluator = Evaluator(model, trainer.batch_size)
    if not chief:
        return {split: evaluator(task_data.split(split)) for split in ("val", "test")}
    record = {"strategy": trainer.strategy, "replicas": strategy.num_replicas_in_sync}
    return _save_and_measure(
        cfg, model, run_dir, task_data, evaluator, trainer.epochs, train_seconds, record
    )
