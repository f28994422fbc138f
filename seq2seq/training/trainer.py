"""`train(cfg)`: one training run, from a validated config to a finished run directory."""

import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seq2seq.data import pipeline
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.model.families import build_model
from seq2seq.training import checkpoints, distribute
from seq2seq.training.callbacks import (
    FlushingTensorBoard,
    GreedyValidation,
    StopOnNonFiniteLoss,
    TensorBoardExtras,
)
from seq2seq.training.compile import compile_model, dtype_policy
from seq2seq.training.finish import Metrics, save_and_measure, write_run_record
from seq2seq.training.tensorboard_rewind import truncate_events
from seq2seq_config.errors import RunError
from seq2seq_config.files import atomic_write_text, remove_temporaries
from seq2seq_config.run_dir import RunDirectory, open_run, write_overrides

log = logging.getLogger(__name__)


def _display_name(run_dir: Path) -> str:
    """The run directory relative to the working directory when inside it, as users see it."""
    try:
        return str(run_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(run_dir)


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
            str(run_dir / "tensorboard"),
            histogram_freq=cfg.logging.histogram_freq,
            write_graph=False,
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


def train(cfg: DictConfig, run_dir: str | None = None, callbacks: Sequence = ()) -> Metrics:
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
    path = Path(run_dir) if run_dir is not None else Path(HydraConfig.get().runtime.output_dir)
    with open_run(cfg, path) as directory:
        return train_in(directory, callbacks)


def train_in(run_dir: RunDirectory, callbacks: Sequence = ()) -> Metrics:
    """Trains in a run directory that `seq2seq_config.run_dir.open_run` checked.

    Args:
        run_dir: the checked run directory, with its validated config.
        callbacks: more Keras callbacks for `fit`.

    Returns:
        The final metrics, as `train` returns them.
    """
    cfg, path, resuming = run_dir.cfg, run_dir.path, run_dir.resuming
    # Before any other TensorFlow op, as MultiWorkerMirroredStrategy requires.
    strategy = distribute.make_strategy(cfg.trainer.strategy)
    if resuming and (path / "metrics.json").exists():
        log.info("The run in %s has finished already; nothing to resume", path)
        return json.loads((path / "metrics.json").read_text())
    remove_temporaries(path)
    atomic_write_text(path / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_overrides(path)
    keras.utils.set_random_seed(cfg.seed)
    # The same config and seed give the same run, and a resumed run the same weights.
    tf.config.experimental.enable_op_determinism()

    task_data, data_path = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    task_data.vocab.save(path / "vocab.json")
    log.info("Data: %s; run directory: %s", data_path, path)

    with dtype_policy(cfg.trainer.precision):
        if cfg.trainer.strategy == "multi_worker":
            return distribute.fit_multi_worker(cfg, path, task_data, strategy)
        return _fit_and_save(cfg, path, resuming, task_data, callbacks, strategy)


def _fit_and_save(cfg, run_dir: Path, resuming: bool, task_data, callbacks, strategy) -> Metrics:
    """Builds, fits, saves and measures the model with Keras' `fit`: the second half of
    `train` under the default and mirrored strategies."""
    trainer = cfg.trainer
    steps_per_epoch = pipeline.steps_per_epoch(task_data.train, trainer.batch_size)
    with distribute.scope(strategy):
        model = build_model(cfg.model, task_data.vocab.size)
        compile_model(model, trainer, total_steps=steps_per_epoch * trainer.epochs)
    first_epoch = _resume(model, run_dir) if resuming else 0
    evaluator = Evaluator(model, trainer.batch_size)
    start = time.perf_counter()
    try:
        model.fit(
            pipeline.training_dataset(
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
        write_run_record(run_dir, {"status": "failed", "error": str(error)})
        raise
    train_seconds = time.perf_counter() - start
    record = {
        "strategy": trainer.strategy,
        "replicas": strategy.num_replicas_in_sync,
        "resumed_from_epoch": first_epoch + 1 if resuming else None,
    }
    return save_and_measure(
        cfg,
        model,
        run_dir,
        task_data,
        evaluator,
        trainer.epochs - first_epoch,
        train_seconds,
        record,
    )
