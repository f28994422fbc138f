"""`train(cfg)`: one training run, from a validated config to a finished run directory."""

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seq2seq.base.error_hints import interrupt_inside
from seq2seq.base.errors import Interrupted, RunError, UserError, describe, signal_of
from seq2seq.base.files import atomic_write_text, remove_temporaries
from seq2seq.base.names import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    METRICS_FILE,
    RUN_RECORD,
    TENSORBOARD_DIR,
    VOCAB_FILE,
)
from seq2seq.data import held_out
from seq2seq.data.load import load_task_data, vocabulary_home
from seq2seq.decoding import length_bound
from seq2seq.logs.tensorboard_rewind import truncate_events
from seq2seq.machine.xla import choose_xla
from seq2seq.run.run_dir import RunDirectory, open_run, write_overrides
from seq2seq.text.vocabulary import Vocabularies
from seq2seq.training import distribute, time_budget
from seq2seq.training.compile import dtype_policy
from seq2seq.training.finish import Metrics, write_run_record
from seq2seq.training.keras_fit import fit_and_save
from seq2seq.training.precision_choice import choose_for_run
from seq2seq.training.run import TrainingRun
from seq2seq.weights import checkpoints

log = logging.getLogger(__name__)


def train(cfg: DictConfig, run_dir: str | None = None, callbacks: Sequence = ()) -> Metrics:
    """Trains a model as `cfg` says and saves everything into the run directory.

    With `trainer.resume=true` and a run already in the directory, continues it from its
    last checkpoint and ends as the uninterrupted run would have.

    Args:
        cfg: the composed `train` config.
        run_dir: where to write; by default Hydra's output directory of this run.
        callbacks: more Keras callbacks for `fit` (not under `trainer.strategy=multi_worker`).

    Returns:
        `{"val": {...}, "test": {...}}`, each split's metrics as the evaluator returns
        them (`seq2seq.evaluation.evaluator.Evaluator.__call__`): the metrics of
        `seq2seq.config.watch_schema.METRICS` (the table in docs/monitoring.md)
        and `truncated`.

    Raises:
        seq2seq.ConfigError: if a config value is not allowed.
        seq2seq.UserError: if the run directory holds another run, or for
            `callbacks` under `trainer.strategy=multi_worker`.
        seq2seq.RunError: if the loss stops being finite.
    """
    if callbacks and cfg.trainer.strategy == "multi_worker":
        raise UserError(
            "callbacks= is not supported with trainer.strategy=multi_worker: its own loop "
            "runs only the framework's callbacks; pass none, or use trainer.strategy=mirrored"
        )
    path = Path(run_dir) if run_dir is not None else Path(HydraConfig.get().runtime.output_dir)
    with open_run(cfg, path) as opened:
        return train_in(opened, callbacks)


def train_in(opened: RunDirectory, callbacks: Sequence = ()) -> Metrics:
    """Trains in a run directory that `seq2seq.run.run_dir.open_run` checked.

    Whatever stops the run after this point is recorded in `run.json`: a failure with
    its message, an interrupt (Ctrl-C, SIGTERM) with the last checkpoint and how to
    resume.

    Args:
        opened: the checked run directory, with its validated config (`open_run`'s).
        callbacks: more Keras callbacks for `fit`.

    Returns:
        The final metrics, as `train` returns them.

    Raises:
        seq2seq.base.errors.Interrupted: after SIGINT or SIGTERM.
        seq2seq.RunError: if the loss stops being finite.
    """
    started = time.perf_counter()  # where trainer.time_budget's clock starts
    cfg, path, resuming = opened.cfg, opened.path, opened.resuming
    # Before any other TensorFlow op, as MultiWorkerMirroredStrategy requires.
    strategy = distribute.make_strategy(cfg.trainer.strategy)
    if resuming and (path / METRICS_FILE).exists():
        log.info("The run in %s has finished already; nothing to resume", path)
        return json.loads((path / METRICS_FILE).read_text())
    remove_temporaries(path)
    if not resuming:  # what a run that failed before its first epoch left
        truncate_events(path / TENSORBOARD_DIR, 0)
    atomic_write_text(path / CONFIG_FILE, OmegaConf.to_yaml(cfg, resolve=True))
    write_overrides(path)
    try:
        return _train(cfg, path, resuming, callbacks, strategy, started)
    except KeyboardInterrupt as interrupt:
        raise _interrupted(path, signal_of(interrupt)) from None
    except Exception as error:  # noqa: BLE001 - recorded, then raised unchanged
        received = interrupt_inside(error)  # Ctrl-C while a tf.data generator ran
        if received is not None:
            raise _interrupted(path, received) from None
        if not isinstance(error, RunError):  # a RunError records itself
            _record_failure(path, {"status": "failed", "error": describe(error) or repr(error)})
        raise


def _record_failure(path: Path, record: dict) -> None:
    """Writes run.json for a run that stopped, if the disk still lets it."""
    try:
        write_run_record(path, record)
    except OSError as error:
        log.warning("could not record the run's end in %s: %s", RUN_RECORD, error)


def _interrupted(path: Path, received) -> Interrupted:
    """Records an interrupted run and says how to continue it."""
    state = checkpoints.latest(path / CHECKPOINTS_DIR)
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


def _train(cfg, path: Path, resuming: bool, callbacks, strategy, started: float) -> Metrics:
    """Reads the data, then trains under the config's dtype policy and strategy, within
    `trainer.time_budget` counted from `started` when one is set."""
    keras.utils.set_random_seed(cfg.seed)
    # The same config and seed give the same run, and a resumed run the same weights.
    tf.config.experimental.enable_op_determinism()

    home = vocabulary_home(cfg, path, resuming)
    base = Vocabularies.load(home / VOCAB_FILE) if home is not None else None
    task_data, data_path = load_task_data(cfg.task, cfg.seed, cfg.data_dir, base)
    task_data.vocabs.save(path)
    held_out.save(path, task_data, data_path)
    files = cfg.task.get("train_paths")  # several training files: name them all
    log.info("Data: %s; run directory: %s", " and ".join(files) if files else data_path, path)
    if home is not None:
        log.info("Vocabularies from %s, with the symbols it lacked appended", home)
    # Fitted to the training pairs and saved before training, so that validation, the
    # final metrics, the export and every later command decode to the same bound; no
    # narrower than the bound of the run the vocabularies come from (a fine-tuned run
    # still decodes what its parent could).
    bound = length_bound.fit(task_data.train.source_lengths, task_data.train.target_lengths)
    if home is not None:
        bound = length_bound.widest(bound, length_bound.load(home))
    bound.save(path)
    log.info("Length bound: %s", bound.describe())

    # Before the run's model is built: `auto` may time throwaway copies of it first.
    precision, facts = choose_for_run(cfg, path, resuming, task_data, strategy)
    log.info("Precision: %s (%s)", precision.name, precision.reason)
    xla = choose_xla(cfg.trainer.xla)
    log.info("XLA: %s (%s)", "on" if xla.on else "off", xla.reason)
    facts.update(xla=xla.on, xla_reason=xla.reason)
    with dtype_policy(precision.name):
        # The plan's epochs, steps, warmup and averaging window replace the config's.
        cfg, plan = time_budget.planned(cfg, path, task_data, strategy, resuming, started)
        if plan is not None:
            facts["time_budget"] = plan
        # Resolved once: nothing after this line reads the config.
        run = TrainingRun.from_config(cfg, path, task_data, strategy, facts, resuming, started)
        if run.trainer.strategy == "multi_worker":
            return distribute.fit_multi_worker(run)
        return fit_and_save(run, callbacks)
