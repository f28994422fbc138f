"""Typed schemas of the training config's groups, registered in Hydra's ConfigStore.

Hydra merges the YAML files under `configs/` onto these dataclasses, so an unknown key
or a value of the wrong type fails at composition, before TensorFlow is imported.
Defaults live here; the YAML files only choose and override. Each field also states the
values it allows (`one_of`, `integer`, `number`): validation, error messages and the
code that dispatches on a choice all read them from here.
"""

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from seq2seq_config.command_schema import DecodingConfig, EvaluateConfig, PredictConfig
from seq2seq_config.constraints import filesystem_path, integer, number, one_of
from seq2seq_config.shipped import register_sample_resolver

#: The generated toy tasks; `tsv` reads a file instead.
GENERATED_TASKS = ("reverse", "copy", "sort", "reverse_prefix", "addition")
#: How text becomes symbols (task.tokenizer, task.source_tokenizer, task.target_tokenizer).
TOKENIZERS = ("char", "space", "subword")
#: The size of a subword vocabulary when task.*_vocab_size is null.
DEFAULT_SUBWORD_VOCAB = 8000
#: Every metric a run reports for validation and test, and which way is better: what a
#: sweep optimizes and early stopping monitors read the direction from here.
METRICS = {
    "loss": "min",
    "token_accuracy": "max",
    "exact_match": "max",
    "token_error_rate": "min",
    "bleu": "max",
    "chrf": "max",
}


@dataclass
class TaskConfig:
    """What to learn: a generated toy task, or your own file of pairs (`tsv`).

    Symbols of the generated tasks are written as numbers `0 .. vocab_size-1`; source
    lengths are drawn uniformly from `min_len .. max_len` (for `addition`, the number of
    digits of each operand).
    """

    name: str = one_of("reverse", GENERATED_TASKS + ("tsv",))
    vocab_size: int = integer(10, minimum=1)
    min_len: int = integer(3, minimum=1)
    max_len: int = integer(10, minimum=1)
    train_size: int = integer(40_000, minimum=1)
    val_size: int = integer(1_000, minimum=1)
    test_size: int = integer(1_000, minimum=1)
    # reverse_prefix: how many leading source symbols the target reverses.
    target_len: int = integer(3, minimum=1)
    # tsv: the file of `source<TAB>target` lines to train on; validation and test are cut
    # from it unless val_path / test_path name files of their own (train_size,
    # vocab_size, min_len and max_len do not apply). `path` is the older name of train_path;
    # with neither, the shipped sample trains (task_defaults.TSV_SAMPLE).
    train_path: str | None = filesystem_path(None)
    path: str | None = filesystem_path(None)
    val_path: str | None = filesystem_path(None)
    test_path: str | None = filesystem_path(None)
    # tsv: how text becomes symbols, both sides: char (every character), space (symbols
    # separated by spaces) or subword (SentencePiece, trained on the training split).
    tokenizer: str = one_of("space", TOKENIZERS)
    # tsv: a side's own tokenizer; null means task.tokenizer.
    source_tokenizer: str | None = one_of(None, TOKENIZERS)
    target_tokenizer: str | None = one_of(None, TOKENIZERS)
    # tsv: one vocabulary for both sides (true) or one per side (false).
    shared_vocab: bool = False
    # tsv, subword: the most pieces in a side's vocabulary (null: 8000); SentencePiece
    # stops earlier where the training text has fewer.
    source_vocab_size: int | None = integer(None, minimum=5)
    target_vocab_size: int | None = integer(None, minimum=5)
    # tsv, subword: SentencePiece's algorithm.
    subword_type: str = one_of("unigram", ("unigram", "bpe"))
    # tsv: training pairs with a longer source or target (in symbols) are left out, counted.
    max_source_len: int | None = integer(None, minimum=1)
    max_target_len: int | None = integer(None, minimum=1)
    # tsv: symbols seen fewer times in training become the unknown symbol <unk>.
    min_freq: int = integer(1, minimum=1)
    # tsv: sources on several lines: training keeps the first pair of each (first) or
    # all of them (all); a held-out source keeps its first pair and never trains.
    repeated_sources: str = one_of("first", ("first", "all"))
    # tsv: a line without a tab or with an empty side: error (stop, naming the line) or
    # skip (leave it out, with a warning that counts them).
    on_bad_line: str = one_of("error", ("error", "skip"))
    # tsv: the first line of each file holds column names (true: skipped), a pair (false),
    # or null: a first line that looks like column names (source<TAB>target) is refused.
    header: bool | None = None


@dataclass
class ModelConfig:
    """The network: embedding, encoder stack, bridge, decoder stack, output projection.

    Every field but `name` is an option of the model's constructor (`model_options`).
    """

    # The family.
    name: str = one_of("lstm", ("lstm", "repeat_vector", "attention"))
    units: int = integer(128, minimum=1)
    embedding_dim: int = integer(64, minimum=1)
    num_layers: int = integer(1, minimum=1)
    dropout: float = number(0.0, minimum=0.0, maximum=1.0, exclusive_maximum=True)
    # The recurrent cell of both sides.
    cell: str = one_of("lstm", ("lstm", "gru", "rnn"))
    bidirectional: bool = False
    # How encoder states become decoder initial states.
    bridge: str = one_of("copy", ("copy", "concat", "dense", "zeros"))
    # Width of the decoder; null means model.units.
    decoder_units: int | None = integer(None, minimum=1)
    # The attention family's score; null for the other families.
    attention: str | None = one_of(None, ("luong", "bahdanau"))


def model_options() -> dict:
    """The model constructor's options and their defaults: every `ModelConfig` field but `name`."""
    defaults = ModelConfig()
    return {
        name: getattr(defaults, name) for name in ModelConfig.__dataclass_fields__ if name != "name"
    }


#: What early stopping and a sweep may watch: every metric, on the validation split.
VALIDATION_METRICS = tuple(f"val/{name}" for name in METRICS)


@dataclass
class EarlyStoppingConfig:
    """Training until it is good: stop once the watched metric stops improving, and keep
    the weights of its best epoch."""

    # The validation metric watched (its better direction is known); off: never stop
    # early; null: val/token_error_rate for files of pairs, off for generated tasks.
    monitor: str | None = one_of(None, ("off", *VALIDATION_METRICS))
    # Epochs without improvement before training stops.
    patience: int = integer(5, minimum=0)
    # The least change of the metric that counts as an improvement.
    min_delta: float = number(0.0, minimum=0.0)
    # Stop at the end of the first epoch whose value reaches this (at least it for a
    # metric to maximize, at most for one to minimize): the task is solved; null: never.
    goal: float | None = number(None)


@dataclass
class TrainerConfig:
    """How to fit: optimizer, schedule, batching, when to stop."""

    # The most epochs; null: 3 for generated tasks, 100 for files of pairs (where early
    # stopping ends the run at its plateau).
    epochs: int | None = integer(None, minimum=1)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    # Epoch checkpoints kept on disk (the best and the latest always are); null: all.
    keep_checkpoints: int | None = integer(None, minimum=1)
    batch_size: int = integer(128, minimum=1)
    # The peak learning rate.
    learning_rate: float = number(1e-2, minimum=0.0, exclusive_minimum=True)
    # constant, or cosine: decays from learning_rate towards 0 over the whole run.
    lr_schedule: str = one_of("cosine", ("constant", "cosine"))
    # Steps over which the learning rate rises linearly from 0 to learning_rate, before
    # the schedule.
    warmup_steps: int = integer(0, minimum=0)
    # The share of each target token's probability spread over the whole vocabulary.
    label_smoothing: float = number(0.0, minimum=0.0, maximum=1.0, exclusive_maximum=True)
    # Batches whose gradients are averaged into one update (Keras' optimizers do it);
    # 1 updates after every batch.
    gradient_accumulation_steps: int = integer(1, minimum=1)
    # Gradient clipping by global norm; null turns it off.
    clipnorm: float | None = number(1.0, minimum=0.0, exclusive_minimum=True)
    # Any of these Keras optimizers, by the name `keras.optimizers.get` takes.
    optimizer: str = one_of("adam", ("adam", "adamw", "nadam", "rmsprop", "sgd"))
    # float32, or a Keras mixed policy: float32 weights with bfloat16 (fast on CPUs
    # with AMX) or float16 (GPUs) arithmetic; auto: the one this machine runs fastest
    # (seq2seq_config/hardware.py), named in the log and run.json.
    precision: str = one_of("auto", ("auto", "float32", "mixed_bfloat16", "mixed_float16"))
    # Batches of sequences of similar length, so that little of a batch is padding:
    # true, false, or null (true for files of pairs, false for generated tasks).
    group_by_length: bool | None = None
    # Training steps run per call into the compiled graph: fewer host round trips;
    # per-batch callbacks then see every Nth step.
    steps_per_execution: int = integer(1, minimum=1)
    # default (one device), mirrored (the devices of this machine) or multi_worker
    # (machines listed in TF_CONFIG); see the README's "Distributed training".
    strategy: str = one_of("default", ("default", "mirrored", "multi_worker"))
    # Continue the run already in the run directory (hydra.run.dir) from its last
    # checkpoint; it must have the same config.
    resume: bool = False


@dataclass
class LoggingConfig:
    """What each run shows in TensorBoard beyond the scalars."""

    # Weight histograms every N epochs; 0 turns them off.
    histogram_freq: int = integer(1, minimum=0)
    # Decoded validation samples shown as a text table after each epoch; 0 turns it off.
    samples: int = integer(8, minimum=0)
    # Heatmaps of h and c over a sample's steps (and attention weights) after each epoch.
    images: bool = True


@dataclass
class TrainConfig:
    """The whole configuration of `python train.py` (groups chosen in configs/train.yaml)."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    # NumPy's and Keras' seeds are 32-bit.
    seed: int = integer(0, minimum=0, maximum=2**32 - 1)
    # What `python train.py` returns to a sweeper (Optuna maximizes or minimizes it);
    # validation only: choosing hyperparameters on the test split would leak it.
    optimized_metric: str = one_of("val/exact_match", tuple(f"val/{name}" for name in METRICS))
    # Generated datasets are cached here, keyed by the task's parameters.
    data_dir: str = filesystem_path("data")


def register_configs() -> None:
    """Stores the schemas in Hydra's ConfigStore.

    The group schemas are stored as `schema/<group>`, outside the groups themselves so
    that they never show up as a choice (`model=...`); each YAML option names its schema
    first in its defaults list, which is what makes Hydra type-check it. Registers the
    configs' resolver `${sample:NAME}` too (`seq2seq_config.shipped`).
    """
    register_sample_resolver()
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(group="schema", name="task", node=TaskConfig)
    store.store(group="schema", name="model", node=ModelConfig)
    store.store(group="schema", name="trainer", node=TrainerConfig)
    store.store(name="evaluate_schema", node=EvaluateConfig)
    store.store(name="predict_schema", node=PredictConfig)
    store.store(group="schema", name="decoding", node=DecodingConfig)
