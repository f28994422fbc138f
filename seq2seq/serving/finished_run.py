"""A finished run directory, loaded back for evaluation, prediction and export."""

from dataclasses import dataclass
from pathlib import Path

import keras
from omegaconf import DictConfig, OmegaConf

from seq2seq.data.vocabulary import Vocabulary


@dataclass
class Run:
    """What a finished `train.py` run left: its model, resolved config and vocabulary."""

    path: Path
    model: keras.Model
    config: DictConfig
    vocab: Vocabulary


def load_run(run_dir) -> Run:
    """Loads a run directory written by `train`.

    Args:
        run_dir: the run directory (holding model.keras, config.yaml, vocab.json).

    Returns:
        The run, its model reloaded with `keras.saving.load_model`.
    """
    path = Path(run_dir)
    return Run(
        path=path,
        model=keras.saving.load_model(path / "model.keras"),
        config=OmegaConf.load(path / "config.yaml"),
        vocab=Vocabulary.load(path / "vocab.json"),
    )
