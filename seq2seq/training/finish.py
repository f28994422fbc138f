"""The end of a run: the model and its export saved, the held-out splits measured, and the
run's records written, `metrics.json` last because its presence marks the run finished."""

import json
import logging
from pathlib import Path

import keras

from seq2seq.base.files import atomic_write, atomic_write_text
from seq2seq.base.names import (
    METRICS_FILE,
    MODEL_FILE,
    RUN_RECORD,
    SAVED_MODEL_EXPORT,
    TENSORBOARD_DIR,
)
from seq2seq.base.version import __version__
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.logs import tensorboard_summaries
from seq2seq.model.precision import for_decoding
from seq2seq.serving.export import export_saved_model
from seq2seq.text.text_rules import run_normalization

log = logging.getLogger(__name__)

Metrics = dict[str, dict[str, float]]


def write_run_record(run_dir: Path, record: dict) -> None:
    """Writes `run.json`: the package's version, the run's status and how it went."""
    record = {"version": __version__, **record}
    atomic_write_text(run_dir / RUN_RECORD, json.dumps(record, indent=2) + "\n")


def save_model(model: keras.Model, path: Path) -> None:
    """Saves the whole model as a `.keras` file, atomically."""
    with atomic_write(path, suffix=".keras") as temporary:
        model.save(temporary)


def decoding_evaluator(evaluator: Evaluator) -> Evaluator:
    """`evaluator`, measuring its model as every command decodes it: in float32.

    Args:
        evaluator: the run's evaluator, whose model trained under the run's precision.

    Returns:
        `evaluator` itself when its model computes in float32; otherwise the same
        evaluator (batch size, strategy, vocabulary, bound) of a float32 copy of the model
        (`seq2seq.model.precision.for_decoding`), whose `model` is that copy.
    """
    model = for_decoding(evaluator.model)
    if model is evaluator.model:
        return evaluator
    return Evaluator(
        model, evaluator.batch_size, evaluator.strategy, evaluator.target_vocab,
        evaluator.bound, **evaluator.options,
    )  # fmt: skip


def save_and_measure(
    cfg,
    run_dir: Path,
    task_data,
    evaluator,
    trained_epochs: int,
    train_seconds: float,
    record: dict,
) -> Metrics:
    """Saves the trained model and its export, measures it, writes run.json and metrics.json.

    What is saved, exported and measured computes in float32 whatever the training
    precision (`decoding_evaluator`), so that the final figures are `evaluate`'s and the
    export serves what `predict` prints; run.json says so (`decoding_precision`).

    Args:
        cfg: the run's config.
        run_dir: the run directory.
        task_data: the run's data (its val and test splits are measured).
        evaluator: measures a split; its model is the trained one.
        trained_epochs: epochs this process trained (fewer than all when resumed).
        train_seconds: how long this process trained.
        record: what run.json says besides the status and the speed, the optimizer
            steps (`train_steps`, the optimizer's count over every process of the run;
            `train_steps_this_process`) among them.

    Returns:
        `{"val": {...}, "test": {...}}`, each split's metrics as the evaluator returns
        them (`Evaluator.__call__`): the metrics of `watch_schema.METRICS` (the table in
        docs/monitoring.md) and `truncated`.
    """
    trainer = cfg.trainer
    evaluator = decoding_evaluator(evaluator)
    model = evaluator.model
    save_model(model, run_dir / MODEL_FILE)
    export = run_dir / SAVED_MODEL_EXPORT
    export.parent.mkdir(exist_ok=True)
    export_saved_model(
        model, export, task_data.vocabs, evaluator.bound, run_normalization(cfg.task)
    )

    metrics = {split: evaluator(task_data.split(split)) for split in ("val", "test")}
    for split, figures in metrics.items():
        if figures["truncated"]:
            log.warning(
                "%d of %d %s outputs reached the length bound (%s) without ending",
                figures["truncated"], len(task_data.split(split)), split, evaluator.bound.describe(),
            )  # fmt: skip
    epochs = record.get("epochs_trained", trainer.epochs)
    # An epoch is a pass, or `steps_per_epoch` batches of the stream of passes.
    per_epoch = len(task_data.train)
    if trainer.steps_per_epoch:
        per_epoch = trainer.steps_per_epoch * trainer.batch_size
    tensorboard_summaries.write_final_metrics(run_dir / TENSORBOARD_DIR, metrics, step=epochs)
    write_run_record(
        run_dir,
        {
            "status": "completed",
            **record,
            "decoding_precision": model.compute_dtype,
            "train_seconds": round(train_seconds, 2),
            "train_sequences_per_second": round(
                per_epoch * trained_epochs / max(train_seconds, 1e-9)
            ),
        },
    )
    # Written last: its presence marks the run as finished.
    atomic_write_text(run_dir / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    # Not the figures themselves: a line of 17-digit JSON read by no one; programs read
    # the file, and `python train.py` ends with the run's figure and commands.
    log.info("Trained in %.1f s; the final metrics are in %s", train_seconds, METRICS_FILE)
    return metrics
