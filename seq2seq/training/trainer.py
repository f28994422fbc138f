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

from seq2seq.data import held_out, pipeline
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.model.families import build_model
from seq2seq.training import checkpoints, distribute
from seq2seq.training.callbacks import (
    EpochClock,
    FlushingTensorBoard,
    GreedyValidation,
    StopOnNonFiniteLoss,
    TensorBoardExtras,
)
from seq2seq.training.compile import compile_model, dtype_policy
from seq2seq.training.finish import Metrics, save_and_measure, write_run_record
from seq2seq.training.tensorboard_rewind import truncate_events
from seq2seq_config.errors import Interrupted, RunError, UserError, describe, signal_of
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
            task_data.vocabs,
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


def _resume(model, run_dir: Path, epochs: int) -> int:
    """Loads the latest checkpoint of `run_dir`, if any, and rewinds TensorBoard to it.

    Returns:
        The epoch training resumes from (0 without a checkpoint).
    """
    directory = run_dir / "checkpoints"
    state = checkpoints.latest(directory, epochs)
    if state is not None:
        try:
            state = checkpoints.restore(model, directory, state)
        except ValueError as error:
            raise UserError(
                f"trainer.resume=true: {error}; start the run again in another directory"
            ) from None
    first_epoch = 0 if state is None else state["epoch"]
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

    Whatever stops the run after this point is recorded in `run.json`: a failure with
    its message, an interrupt (Ctrl-C, SIGTERM) with the last checkpoint and how to
    resume.

    Args:
        run_dir: the checked run directory, with its validated config.
        callbacks: more Keras callbacks for `fit`.

    Returns:
        The final metrics, as `train` returns them.

    Raises:
        seq2seq_config.errors.Interrupted: after SIGINT or SIGTERM.
        seq2seq_config.RunError: if the loss stops being finite.
    """
    cfg, path, resuming = run_dir.cfg, run_dir.path, run_dir.resuming
    # Before any other TensorFlow op, as MultiWorkerMirroredStrategy requires.
    strategy = distribute.make_strategy(cfg.trainer.strategy)
    if resuming and (path / "metrics.json").exists():
        log.info("The run in %s has finished already; nothing to resume", path)
        return json.loads((path / "metrics.json").read_text())
    remove_temporaries(path)
    if not resuming:  # what a run that failed before its first epoch left
        truncate_events(path / "tensorboard", 0)
    atomic_write_text(path / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_overrides(path)
    try:
        return _train(cfg, path, resuming, callbacks, strategy)
    except KeyboardInterrupt as interrupt:
        raise _interrupted(path, signal_of(interrupt)) from None
    except Exception as error:  # noqa: BLE001 - recorded, then raised unchanged
        if not isinstance(error, RunError):  # a RunError records itself
            _record_failure(path, {"status": "failed", "error": describe(error) or repr(error)})
        raise


def _record_failure(path: Path, record: dict) -> None:
    """Writes run.json for a run that stopped, if the disk still lets it."""
    try:
        write_run_record(path, record)
    except OSError as error:
        log.warning("could not record the run's end in run.json: %s", error)


def _interrupted(path: Path, received) -> Interrupted:
    """Records an interrupted run and says how to continue it."""
    state = checkpoints.latest(path / "checkpoints")
    kept = "no epoch had finished" if state is None else f"epoch {state['epoch']} is saved"
    _record_failure(
        path,
        {
            "status": "interrupted",
            "signal": received.name,
            "epochs_finished": 0 if state is None else state["epoch"],
        },
    )
    return Interrupted(
        f"interrupted by {received.name}; {kept}; to continue, run the same command with "
        f"hydra.run.dir={path} trainer.resume=true",
        received,
    )


def _train(cfg, path: Path, resuming: bool, callbacks, strategy) -> Metrics:
    """Reads the data, then trains under the config's dtype policy and strategy."""
    keras.utils.set_random_seed(cfg.seed)
    # The same config and seed give the same run, and a resumed run the same weights.
    tf.config.experimental.enable_op_determinism()

    task_data, data_path = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    task_data.vocabs.save(path)
    held_out.save(path, task_data, data_path)
    log.info("Data: %s; run directory: %s", data_path, path)

    with dtype_policy(cfg.trainer.precision):
        if cfg.trainer.strategy == "multi_worker":
            return distribute.fit_multi_worker(cfg, path, task_data, strategy)
        return _fit_and_save(cfg, path, resuming, task_data, callbacks, strategy)


def groups_by_length(cfg) -> bool:
    """`trainer.group_by_length`, null meaning: for files of pairs, not for generated tasks."""
    if cfg.trainer.group_by_length is not None:
        return cfg.trainer.group_by_length
    return cfg.task.name == "tsv"


def _fit_and_save(cfg, run_dir: Path, resuming: bool, task_data, callbacks, strategy) -> Metrics:
    """Builds, fits, saves and measures the model with Keras' `fit`: the second half of
    `train` under the default and mirrored strategies."""
    trainer = cfg.trainer
    batches = pipeline.EpochBatches(
        task_data.train, trainer.batch_size, cfg.seed, groups_by_length(cfg)
    )
    with distribute.scope(strategy):
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, trainer, total_steps=batches.steps * trainer.epochs)
    first_epoch = _resume(model, run_dir, trainer.epochs) if resuming else 0
    evaluator = Evaluator(model, trainer.batch_size, target_vocab=task_data.vocabs.target)
    steps_before = int(model.optimizer.iterations.numpy())
    clock = EpochClock()
    start = time.perf_counter()
    try:
        model.fit(
            batches.dataset,
            initial_epoch=first_epoch,
            epochs=trainer.epochs,
            callbacks=[
                batches,  # first: it picks the order of the epoch about to be read
                *_callbacks(cfg, run_dir, task_data, evaluator, first_epoch, callbacks),
                clock,  # last: an epoch ends once its checkpoint is written
            ],
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
        "data": task_data.record,
        # Time between the last epoch's checkpoint and the end of `fit`: about 0 s; it was
        # 13-33 s in one run of two while tf.data's autotuning was on (data/pipeline.py).
        "seconds_after_last_epoch": clock.seconds_since_last_epoch(),
        # Counted, not computed: the optimizer's own count of the steps it took.
        "train_steps": int(model.optimizer.iterations.numpy()) - steps_before,
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
