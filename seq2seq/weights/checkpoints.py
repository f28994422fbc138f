"""Checkpoints each epoch, written so that a kill at any moment leaves a usable latest one.

`checkpoints/epoch-NNN.weights.h5` holds the model's weights and the optimizer's state
(Keras' `save_weights` saves both); `checkpoints/latest.json` names the newest complete
checkpoint and holds what `save_weights` leaves out: the dropout layers' random
generator states and the epoch count. Each file is written atomically
(`seq2seq.base.files`); latest.json is written last, so it only ever names a whole
checkpoint.

Why not the libraries' own: `keras.callbacks.BackupAndRestore` keeps one backup that it
overwrites in place (not atomically), skips the random generator states and deletes
the backup when `fit` ends, so a finished run keeps no per-epoch checkpoint; and
`tf.train.CheckpointManager` writes TensorFlow's object-graph format, which
`keras.Model.load_weights` users cannot open, where these files are Keras' own
`.weights.h5`.
"""

import json
import logging
from pathlib import Path

import keras
import numpy as np

from seq2seq.base.files import atomic_write, atomic_write_text
from seq2seq.base.names import CHECKPOINT_GLOB, LATEST_CHECKPOINT

log = logging.getLogger(__name__)


def _unsaved_variables(model: keras.Model) -> list:
    """The model's variables that `save_weights` skips: random generator states."""
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


def save(model: keras.Model, directory: Path, epoch: int, extra: dict | None = None) -> Path:
    """Writes the checkpoint of the model after `epoch` epochs, then points latest.json at it.

    Args:
        model: the model.
        directory: the run's checkpoints/ directory.
        epoch: epochs trained so far.
        extra: more state to record in latest.json (early stopping's), read back by `latest`.

    Returns:
        The weights file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / weights_name(epoch)
    # Staged in memory: HDF5 crashes the process when the disk fills mid-file.
    with atomic_write(weights, suffix=".weights.h5", staged=True) as temporary:
        model.save_weights(temporary)
    state = {
        "epoch": epoch,
        "weights": weights.name,
        "random_states": [np.asarray(v).tolist() for v in _unsaved_variables(model)],
        **(extra or {}),
    }
    atomic_write_text(directory / LATEST_CHECKPOINT, json.dumps(state, indent=1) + "\n")
    return weights


def weights_name(epoch: int) -> str:
    """The name of epoch `epoch`'s checkpoint in `checkpoints/`: `epoch-NNN.weights.h5`."""
    return f"epoch-{epoch:03d}.weights.h5"


def _valid_record(record, directory: Path, epochs: int | None) -> bool:
    """Whether latest.json's content is one this module wrote: an epoch in range, the
    weights file of that epoch present, a list of random states."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("epoch"), int)
        and not isinstance(record["epoch"], bool)
        and 1 <= record["epoch"] <= (epochs or record["epoch"])
        and record.get("weights") == weights_name(record["epoch"])
        and isinstance(record.get("random_states"), list)
        and (directory / record["weights"]).is_file()
    )


def latest(directory: Path, epochs: int | None = None) -> dict | None:
    """The newest checkpoint's record, or None if there is none.

    latest.json is trusted only if it is whole and names a checkpoint that exists,
    of an epoch in 1 .. `epochs`; otherwise the newest `epoch-NNN.weights.h5` stands in
    (a record without random states: see `restore`), with a warning.

    Args:
        directory: the run's checkpoints/ directory.
        epochs: the run's number of epochs, if known: no later epoch is believed.
    """
    path = directory / LATEST_CHECKPOINT
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        record = None
    except (OSError, ValueError):
        record = "damaged"
    if record is not None and _valid_record(record, directory, epochs):
        return record
    for candidate in sorted(directory.glob(CHECKPOINT_GLOB), reverse=True):
        digits = candidate.name[len("epoch-") : -len(".weights.h5")]
        if digits.isdigit() and 1 <= int(digits) <= (epochs or int(digits)):
            if record is not None:
                log.warning(
                    "%s is damaged or names a checkpoint that is not there; falling back to %s",
                    path, candidate.name,
                )  # fmt: skip
            return {"epoch": int(digits), "weights": candidate.name, "random_states": None}
    if record is not None:
        log.warning("%s is damaged and no checkpoint remains; starting from scratch", path)
    return None


def restore(model: keras.Model, directory: Path, state: dict) -> dict:
    """Loads a checkpoint into a compiled model: weights, optimizer state, random states.

    A checkpoint that cannot be loaded (a truncated or damaged file) gives way to the
    next older one, with a warning: the run continues from the newest whole checkpoint.

    Args:
        model: the compiled model.
        directory: the run's checkpoints/ directory.
        state: `latest(directory)`.

    Returns:
        The record of the checkpoint that was loaded.

    Raises:
        ValueError: if no checkpoint of the directory can be loaded into the model.
    """
    # Optimizer variables are created on first use; make them now so they can be loaded
    # (`compile_model` has; a model compiled elsewhere may not have).
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    for epoch in range(state["epoch"], 0, -1):
        weights = directory / weights_name(epoch)
        try:
            model.load_weights(weights)
        except Exception as error:  # noqa: BLE001 - HDF5 and Keras each raise their own kind
            log.warning("%s cannot be loaded (%s); trying the epoch before", weights.name, error)
            state = {"epoch": epoch - 1, "weights": weights_name(epoch - 1), "random_states": None}
            continue
        break
    else:
        raise ValueError(f"no checkpoint in {directory} can be loaded into this model")
    random_states = state["random_states"]
    variables = _unsaved_variables(model)
    if random_states is None:
        if variables:
            log.warning(
                "the random states of the dropout layers were not recorded with %s: the "
                "resumed run will not match an uninterrupted one exactly",
                state["weights"],
            )
        return state
    if len(variables) != len(random_states):
        raise ValueError(f"{directory / LATEST_CHECKPOINT} does not fit this model")
    for variable, value in zip(variables, random_states):
        variable.assign(np.asarray(value, dtype=variable.dtype))
    return state


def prune(directory: Path, keep: int, protected: set) -> list:
    """Deletes epoch checkpoints beyond the newest `keep`, but never one of `protected`.

    Returns:
        The epochs deleted.
    """
    epochs = sorted(
        int(p.name[6:9]) for p in directory.glob(CHECKPOINT_GLOB) if p.name[6:9].isdigit()
    )
    doomed = [e for e in epochs[:-keep] if e not in protected] if keep else []
    for epoch in doomed:
        (directory / weights_name(epoch)).unlink(missing_ok=True)
    return doomed


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint after every epoch. Put it last: the epoch's logs are written first.

    Args:
        directory: the run's `checkpoints/` directory.
        before_save: called first, e.g. to flush TensorBoard, so that a checkpoint
            never exists without its epoch's summaries.
        extra_state: returns more state for latest.json (early stopping's).
        keep: how many epoch checkpoints stay on disk (null: all); the latest and those
            `protected` returns (the best epoch's) always stay.
        protected: returns the epochs whose checkpoints must stay.
    """

    def __init__(
        self, directory: Path, before_save=None, extra_state=None, keep=None, protected=None
    ):
        super().__init__()
        self.directory = directory
        self.before_save = before_save
        self.extra_state = extra_state or dict
        self.keep = keep
        self.protected = protected or set

    def on_epoch_end(self, epoch, logs=None):
        if self.before_save is not None:
            self.before_save()
        save(self.model, self.directory, epoch + 1, self.extra_state())
        if self.keep:
            prune(self.directory, self.keep, {epoch + 1, *self.protected()})
