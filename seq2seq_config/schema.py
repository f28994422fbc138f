"""Typed schemas of every config group, registered in Hydra's ConfigStore.

Hydra merges the YAML files under `configs/` onto these dataclasses, so an unknown key
or a value of the wrong type fails at composition, before TensorFlow is imported.
Defaults live here; the YAML files only choose and override.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class TaskConfig:
    """What to learn: a generated toy task.

    Symbols are written as numbers `0 .. vocab_size-1`; sequence lengths are drawn
    uniformly from `min_len .. max_len`.
    """

    name: str = "reverse"
    vocab_size: int = 10
    min_len: int = 3
    max_len: int = 10
    train_size: int = 40_000
    val_size: int = 1_000
    test_size: int = 1_000


@dataclass
class ModelConfig:
    """The network: embedding, encoder stack, bridge, decoder stack, output projection."""

    # The family: lstm, repeat_vector or attention.
    name: str = "lstm"
    units: int = 128
    embedding_dim: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    # The recurrent cell of both sides: lstm, gru or rnn.
    cell: str = "lstm"
    bidirectional: bool = False
    # How encoder states become decoder initial states: copy, concat, dense or zeros.
    bridge: str = "copy"
    # Width of the decoder; null means model.units.
    decoder_units: Optional[int] = None
    # The attention family's score: luong or bahdanau; null for the other families.
    attention: Optional[str] = None


@dataclass
class TrainerConfig:
    """How to fit: optimizer, schedule, batching."""

    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-2
    # constant, or cosine: decays from learning_rate towards 0 over the whole run.
    lr_schedule: str = "cosine"
    # Gradient clipping by global norm; null turns it off.
    clipnorm: Optional[float] = 1.0
    optimizer: str = "adam"


@dataclass
class TrainConfig:
    """The whole configuration of `python train.py`."""

    defaults: List[Any] = field(
        default_factory=lambda: [
            {"task": "reverse"},
            {"model": "lstm"},
            {"trainer": "default"},
            "_self_",
        ]
    )
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = 0
    # Generated datasets are cached here, keyed by the task's parameters.
    data_dir: str = "data"


def register_configs() -> None:
    """Stores the schemas in Hydra's ConfigStore.

    The group schemas are stored as `schema/<group>`, outside the groups themselves so
    that they never show up as a choice (`model=...`); each YAML option names its schema
    first in its defaults list, which is what makes Hydra type-check it.
    """
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(group="schema", name="task", node=TaskConfig)
    store.store(group="schema", name="model", node=ModelConfig)
    store.store(group="schema", name="trainer", node=TrainerConfig)
