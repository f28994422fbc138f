"""The training run under Keras' `fit` (default and mirrored strategies): callbacks in their
order, resuming from a checkpoint, early stopping and the best epoch, then the finish."""

import logging
import sys
import time
from pathlib import Path

import tensorflow as tf

from seq2seq.data import pipeline
from seq2seq.evaluation import length_bound
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.model.families import build_model
from seq2seq.training import checkpoints, distribute
from seq2seq.training.callbacks import (
    BestEpoch,
    EpochClock,
    FlushingTensorBoard,
    GreedyValidation,
    StopOnNonFiniteLoss,
    TensorBoardExtras,
)
from seq2seq.training.compile import compile_model
from seq2seq.training.finish import Metrics, save_and_measure, write_run_record
from seq2seq.training.tensorboard_rewind import truncate_events
from seq2seq_config.errors import RunError, UserError

log = logging.getLogger(__name__)


def _display_name(run_dir: Path) -> str:
    """The run directory relative to the working directory when inside it, as users see it."""
    try:
        return str(run_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(run_dir)


def _callbacks(
    cfg, run_dir: Path, task_data, evaluator, first_epoch: int, best: BestEpoch | None, extra
) -> list:
    """The callbacks of `fit`, in order: validation first, then what reads its figures
    (early stopping, TensorBoard); each epoch's logs and summaries are complete and on
    disk before its checkpoint is written (last), so a checkpoint never outlives them."""
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard"))
    trainer = cfg.trainer
    return [
        StopOnNonFiniteLoss(run_dir / "checkpoints"),
        GreedyValidation(evaluator, task_data.val),
        *([best] if best is not None else []),
        TensorBoardExtras(
            writer,
            cfg,
            task_data.vocabs,
            task_data.val,
            bound=evaluator.bound,
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
        checkpoints.Checkpointer(
            run_dir / "checkpoints",
            before_save=writer.flush,
            extra_state=best.state if best is not None else None,
            keep=trainer.keep_checkpoints,
            protected=(lambda: {best.best_epoch + 1}) if best is not None else None,
        ),
    ]


def _resume(model, run_dir: Path, epochs: int) -> dict | None:
    """Loads the latest checkpoint of `run_dir`, if any, and rewinds TensorBoard to it.

    Returns:
        The checkpoint's record (None without one): its `epoch` is where training
        resumes, and it holds early stopping's state.
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
        first_epoch + 1, state["weights"] if state else "no checkpoint yet", dropped,
    )  # fmt: skip
    return state


def _early_stopping(cfg, saved: dict | None) -> BestEpoch | None:
    watch = cfg.trainer.early_stopping
    if watch.monitor == "off":
        return None
    if saved is not None and "early_stopping" not in saved:
        log.warning("The checkpoint resumed from has no early-stopping state: it starts afresh")
    state = (saved or {}).get("early_stopping")
    return BestEpoch(watch.monitor, watch.patience, watch.min_delta, watch.goal, state)


def _keep_best(model, run_dir: Path, best: BestEpoch | None, epochs_done: int) -> dict:
    """Loads the best epoch's weights when early stopping watched a metric; says what the
    run keeps and why it stopped, for run.json."""
    if best is None:
        return {"final_epoch": epochs_done, "stopped": "after trainer.epochs"}
    best_epoch = best.best_epoch + 1
    if best_epoch != epochs_done:
        model.load_weights(run_dir / "checkpoints" / f"epoch-{best_epoch:03d}.weights.h5")
    if best.goal_reached:
        stopped = f"early stopping: {best.watched} reached the goal {best.goal}"
    elif best.stopped_epoch:
        stopped = f"early stopping: {best.watched} did not improve for {best.wait} epochs"
    else:
        stopped = "after trainer.epochs"
    log.info(
        "Keeping epoch %d, the best by %s (%s); %s", best_epoch, best.watched, best.best, stopped
    )
    return {
        "final_epoch": best_epoch,
        "best_epoch": best_epoch,
        "monitor": best.watched,
        "best_value": best.best,
        "stopped": stopped,
    }


def fit_and_save(
    cfg, run_dir: Path, resuming: bool, task_data, callbacks, strategy, facts: dict
) -> Metrics:
    """Builds, fits, saves and measures the model with Keras' `fit`: the second half of
    `train` under the default and mirrored strategies; `facts` go into run.json."""
    trainer = cfg.trainer
    batches = pipeline.EpochBatches(
        task_data.train, trainer.batch_size, cfg.seed, trainer.group_by_length
    )
    with distribute.scope(strategy):
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, trainer, total_steps=batches.steps * trainer.epochs)
    saved = _resume(model, run_dir, trainer.epochs) if resuming else None
    first_epoch = 0 if saved is None else saved["epoch"]
    best = _early_stopping(cfg, saved)
    # A run that stopped early, resumed to finish its final save, trains no more.
    stopped = bool(
        best is not None
        and best.saved
        and (best.saved["stopped_epoch"] or best.saved.get("goal_reached"))
    )
    evaluator = Evaluator(
        model,
        trainer.batch_size,
        target_vocab=task_data.vocabs.target,
        bound=length_bound.load(run_dir),  # the run's, fitted and saved by `train`
    )
    steps_before = int(model.optimizer.iterations.numpy())
    clock = EpochClock()
    start = time.perf_counter()
    try:
        history = model.fit(
            batches.dataset,
            initial_epoch=first_epoch,
            epochs=first_epoch if stopped else trainer.epochs,
            callbacks=[
                batches,  # first: it picks the order of the epoch about to be read
                *_callbacks(cfg, run_dir, task_data, evaluator, first_epoch, best, callbacks),
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
    epochs_done = first_epoch + len(history.epoch)
    # Counted, not computed: the optimizer's own count of the updates it made, over every
    # process of a resumed run (the checkpoint restores it), read before the best epoch's
    # weights, which bring back that epoch's count.
    train_steps = int(model.optimizer.iterations.numpy())
    record = {
        **facts,
        "strategy": trainer.strategy,
        "replicas": strategy.num_replicas_in_sync,
        "resumed_from_epoch": first_epoch + 1 if resuming else None,
        "epochs_trained": epochs_done,
        **_keep_best(model, run_dir, best, epochs_done),
        "data": task_data.record,
        # Time between the last epoch's checkpoint and the end of `fit`: about 0 s; it was
        # 13-33 s in one run of two while tf.data's autotuning was on (data/pipeline.py).
        "seconds_after_last_epoch": clock.seconds_since_last_epoch(),
        "train_steps": train_steps,
        "train_steps_this_process": train_steps - steps_before,
    }
    return save_and_measure(
        cfg, model, run_dir, task_data, evaluator, epochs_done - first_epoch, train_seconds, record
    )
