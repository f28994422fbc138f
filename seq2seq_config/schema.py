"""Typed schemas of every config group, registered in Hydra's ConfigStore.

Hydra merges the YAML files under `configs/` onto these dataclasses, so an unknown key
or a value of the wrong type fails at composition, before TensorFlow is imported.
Defaults live here; the YAML files only choose and override.
"""

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class TaskConfig:
    """What to learn: a generated toy task, or your own file of pairs (`tsv`).

    Symbols of the generated tasks are written as numbers `0 .. vocab_size-1`; source
    lengths are drawn uniformly from `min_len .. max_len` (for `addition`, the number of
    digits of each operand).
    """

    # reverse, copy, sort, reverse_prefix, addition (generated) or tsv (a file).
    name: str = "reverse"
    vocab_size: int = 10
    min_len: int = 3
    max_len: int = 10
    train_size: int = 40_000
    val_size: int = 1_000
    test_size: int = 1_000
    # reverse_prefix: how many leading source symbols the target reverses.
    target_len: int = 3
    # tsv: the file of `source<TAB>target` lines; its lines not in validation or test
    # all train (train_size, vocab_size, min_len and max_len do not apply).
    path: Optional[str] = None
    # tsv: char (every character a symbol) or space (symbols separated by spaces).
    tokenizer: str = "space"
    # tsv: symbols seen fewer times in training become the unknown symbol <unk>.
    min_freq: int = 1
    # tsv: a line without a tab or with an empty side: error (stop, naming the line) or
    # skip (leave it out, with a warning that counts them).
    on_bad_line: str = "error"


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

    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 1e-2
    # constant, or cosine: decays from learning_rate towards 0 over the whole run.
    lr_schedule: str = "cosine"
    # Gradient clipping by global norm; null turns it off.
    clipnorm: Optional[float] = 1.0
    optimizer: str = "adam"
    # float32, or a Keras mixed policy: float32 weights with bfloat16 (fast on CPUs
    # with AMX) or float16 (GPUs) arithmetic.
    precision: str = "float32"
    # Training steps run per call into the compiled graph: fewer host round trips;
    # per-batch callbacks then see every Nth step.
    steps_per_execution: int = 1
    # default (one device), mirrored (the devices of this machine) or multi_worker
    # (machines listed in TF_CONFIG); see the README's "Distributed training".
    strategy: str = "default"
    # Continue the run already in the run directory (hydra.run.dir) from its last
    # checkpoint; it must have the same config.
    resume: bool = False


@dataclass
class LoggingConfig:
    """What each run shows in TensorBoard beyond the scalars."""

    # Weight histograms every N epochs; 0 turns them off.
    histogram_freq: int = 1
    # Decoded validation samples shown as a text table after each epoch; 0 turns it off.
    samples: int = 8
    # Heatmaps of h and c over a sample's steps (and attention weights) after each epoch.
    images: bool = True


@dataclass
class TrainConfig:
    """The whole configuration of `python train.py` (groups chosen in configs/train.yaml)."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    seed: int = 0
    # What `python train.py` returns to a sweeper (Optuna maximizes or minimizes it).
    optimized_metric: str = "val/exact_match"
    # Generated datasets are cached here, keyed by the task's parameters.
    data_dir: str = "data"


@dataclass
class DecodingConfig:
    """How `evaluate` and `predict` decode: greedy, beam search or sampling."""

    strategy: str = "greedy"
    beam_size: int = 5
    # GNMT's alpha: hypotheses are ranked by log-probability / ((5 + length) / 6) ** alpha.
    length_penalty: float = 0.0
    temperature: float = 1.0
    # Sample among the k most likely tokens only; 0 means all.
    top_k: int = 0
    # The most tokens to emit, EOS included; null means twice the source plus two.
    max_len: Optional[int] = None
    # Seeds sampling (with the step index): the same seed gives the same sequences.
    seed: int = 0


@dataclass
class EvalConfig:
    """The length-generalization split of `evaluate`: lengths beyond training."""

    # Null means the run's task.max_len + 1 and task.max_len + 5.
    min_len: Optional[int] = None
    max_len: Optional[int] = None
    size: int = 1000
    batch_size: int = 500


@dataclass
class EvaluateConfig:
    """`python -m seq2seq.evaluate run_dir=DIR ...`."""

    run_dir: str = MISSING
    split: str = "test"
    eval: EvalConfig = field(default_factory=EvalConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)


@dataclass
class PredictConfig:
    """`python -m seq2seq.predict run_dir=DIR input="3 1 4 1 5" ...`."""

    run_dir: str = MISSING
    # One sequence per line, symbols separated by spaces; or a file of such lines.
    input: Optional[str] = None
    input_file: Optional[str] = None
    # The longest input accepted; null means the longest source the run trained on.
    max_input_len: Optional[int] = None
    batch_size: int = 500
    decoding: DecodingConfig = field(default_factory=DecodingConfig)


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
    store.store(name="evaluate_schema", node=EvaluateConfig)
    store.store(name="predict_schema", node=PredictConfig)
    store.store(group="schema", name="decoding", node=DecodingConfig)
