"""Checkpoints each epoch, written so that a kill at any moment leaves a usable latest one.

`checkpoints/epoch-NNN.weights.h5` holds the model's weights and the optimizer's state
(Keras' `save_weights` saves both); `checkpoints/latest.json` names the newest complete
checkpoint and holds what `save_weights` leaves out: the dropout layers' random
generator states and the epoch count. Each file is written atomically
(`seq2seq_config.files`); latest.json is written last, so it only ever names a whole
checkpoint.

Why not the libraries' own: `keras.callbacks.BackupAndRestore` keeps one backup that it
overwrites in place (not atomically), skips the random generator states and deletes
the backup when `fit` ends, so a finished run keeps no per-epoch checkpoint; and
`tf.train.CheckpointManager` writes TensorFlow's object-graph format, which
`keras.Model.load_weights` users cannot open, where these files are Keras' own
`.weights.h5`.
"""

import json
from pathlib import Path

import keras
import numpy as np

from seq2seq_config.files import atomic_write, atomic_write_text

LATEST = "latest.json"


def _unsaved_variables(model: keras.Model) -> list:
    """The model's variables that `save_weights` skips: random generator states."""
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


def save(model: keras.Model, directory: Path, epoch: int) -> Path:
    """Writes the checkpoint of the model after `epoch` epochs, then points latest.json at it.

    Returns:
        The weights file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"epoch-{epoch:03d}.weights.h5"
    with atomic_write(weights, suffix=".weights.h5") as temporary:
        model.save_weights(temporary)
    state = {
        "epoch": epoch,
        "weights": weights.name,
        "random_states": [np.asarray(v).tolist() for v in _unsaved_variables(model)],
    }
    atomic_write_text(directory / LATEST, json.dumps(state, indent=1) + "\n")
    return weights


def latest(directory: Path) -> dict | None:
    """The newest complete checkpoint's record, or None if there is none."""
    path = directory / LATEST
    if not path.exists():
        return None
    return json.loads(path.read_text())


def restore(model: keras.Model, directory: Path, state: dict) -> None:
    """Loads a checkpoint into a compiled model: weights, optimizer state, random states.

    Raises:
        ValueError: if the checkpoint does not fit the model.
    """
    # Optimizer variables are created on first use; make them now so they can be loaded.
    model.optimizer.build(model.trainable_variables)
    model.load_weights(directory / state["weights"])
    variables = _unsaved_variables(model)
    if len(variables) != len(state["random_states"]):
        raise ValueError(f"{directory / LATEST} does not fit this model")
    for variable, value in zip(variables, state["random_states"]):
        variable.assign(np.asarray(value, dtype=variable.dtype))


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint after every epoch. Put it last: the epoch's logs are written first.

    Args:
        directory: the run's `checkpoints/` directory.
        before_save: called first, e.g. to flush TensorBoard, so that a checkpoint
            never exists without its epoch's summaries.
    """

    def __init__(self, directory: Path, before_save=None):
        super().__init__()
        self.directory = directory
        self.before_save = before_save

    def on_epoch_end(self, epoch, logs=None):
        if self.before_save is not None:
            self.before_save()
        save(self.model, self.directory, epoch + 1)
