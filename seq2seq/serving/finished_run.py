"""A finished run directory, loaded back for evaluation, prediction and export."""

from dataclasses import dataclass
from pathlib import Path

import keras
from omegaconf import DictConfig, OmegaConf

from seq2seq.data.vocabulary import Vocabularies
from seq2seq.evaluation import length_bound
from seq2seq_config.cli.errors import UserError
from seq2seq_config.run.names import CONFIG_FILE, LENGTH_BOUND_FILE, MODEL_FILE, VOCAB_FILE


@dataclass
class Run:
    """What a finished `train.py` run left: its model, resolved config, vocabulary and
    length bound (None for a run saved before bounds were: see `decoding_bound`)."""

    path: Path
    model: keras.Model
    config: DictConfig
    vocabs: Vocabularies
    bound: length_bound.LengthBound | None = None

    def decoding_bound(self, max_len: int | None = None) -> length_bound.LengthBound:
        """The bound to decode with: `decoding.max_len` when set, else the run's; a run
        saved before bounds were gets the old default, twice the source plus two, with a
        warning on stderr saying so."""
        return length_bound.chosen(self.bound, max_len, str(self.path))


def _read(path: Path, reader):
    """`reader(path)`, with a damaged file refused in one line instead of a traceback."""
    try:
        return reader(path)
    except Exception as error:  # noqa: BLE001 - zip, HDF5, JSON and Keras each raise their own kind
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(
            f"run_dir={str(path.parent)!r}: {path.name} is damaged and cannot be read ({reason[:200]})"
        ) from None


def load_run(run_dir) -> Run:
    """Loads a run directory written by `train`.

    Args:
        run_dir: the run directory (holding model.keras, config.yaml, vocab.json and,
            since length bounds were saved, length_bound.json).

    Returns:
        The run, its model reloaded with `keras.saving.load_model`.

    Raises:
        UserError: if one of the run's files is damaged.
    """
    path = Path(run_dir)
    return Run(
        path=path,
        model=_read(path / MODEL_FILE, keras.saving.load_model),
        config=_read(path / CONFIG_FILE, OmegaConf.load),
        vocabs=_read(path / VOCAB_FILE, Vocabularies.load),
        bound=_read(path / LENGTH_BOUND_FILE, lambda p: length_bound.load(p.parent)),
    )
