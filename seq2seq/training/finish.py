"""The end of a run: the model and its export saved, the held-out splits measured, and the
run's records written, `metrics.json` last because its presence marks the run finished."""

import dataclasses
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

log = logging.getLogger(__name__)

Metrics = dict[str, dict[str, float]]


@dataclasses.dataclass
class Trained:
    """What a loop reports when it ends.

    Args:
        epochs_done: epochs trained, over every process of the run.
        best_weights: the best epoch's weights, when this process holds them in memory.
        more: what run.json says besides (the loop's own figures).
    """

    epochs_done: int
    best_weights: list | None = None
    more: dict = dataclasses.field(default_factory=dict)


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


def save_and_export(evaluator: Evaluator, run_dir: Path, vocabs, normalization) -> Evaluator:
    """Saves the trained model and its SavedModel export, both computing in float32.

    Args:
        evaluator: the run's evaluator, whose model is the trained one.
        run_dir: the run directory.
        vocabs: the run's vocabularies, which the export's text signature reads.
        normalization: `task.normalize` as the export applies it (`run_normalization`).

    Returns:
        The evaluator of what was saved (`decoding_evaluator`), which measures the final
        figures, so that they are `evaluate`'s and the export serves what `predict` prints.
    """
    evaluator = decoding_evaluator(evaluator)
    save_model(evaluator.model, run_dir / MODEL_FILE)
    export = run_dir / SAVED_MODEL_EXPORT
    export.parent.mkdir(exist_ok=True)
    export_saved_model(evaluator.model, export, vocabs, evaluator.bound, normalization)
    return evaluator


def measure(evaluator: Evaluator, task_data) -> Metrics:
    """The val and test figures, with a warning for outputs cut at the length bound.

    Returns:
        `{"val": {...}, "test": {...}}`, each split's metrics as the evaluator returns
        them (`Evaluator.__call__`): the metrics of `watch_schema.METRICS` (the table in
        docs/monitoring.md) and `truncated`.
    """
    metrics = {split: evaluator(task_data.split(split)) for split in ("val", "test")}
    for split, figures in metrics.items():
        if figures["truncated"]:
            log.warning(
                "%d of %d %s outputs reached the length bound (%s) without ending",
                figures["truncated"], len(task_data.split(split)), split, evaluator.bound.describe(),
            )  # fmt: skip
    return metrics


def write_finished(run_dir: Path, metrics: Metrics, record: dict, epoch: int) -> None:
    """The final figures to TensorBoard, run.json, then metrics.json, whose presence marks
    the run finished.

    Args:
        run_dir: the run directory.
        metrics: `measure`'s.
        record: what run.json says besides the version: its status, `train_seconds`, ...
        epoch: the TensorBoard step of the final figures (the epochs trained).
    """
    tensorboard_summaries.write_final_metrics(run_dir / TENSORBOARD_DIR, metrics, step=epoch)
    write_run_record(run_dir, record)
    # Written last: its presence marks the run as finished.
    atomic_write_text(run_dir / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    # Not the figures themselves: a line of 17-digit JSON read by no one; programs read
    # the file, and `python train.py` ends with the run's figure and commands.
    log.info(
        "Trained in %.1f s; the final metrics are in %s", record["train_seconds"], METRICS_FILE
    )
