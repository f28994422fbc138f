"""Typed schemas of the training config's groups, registered in Hydra's ConfigStore.

Hydra merges the YAML files under `configs/` onto these dataclasses, so an unknown key
or a value of the wrong type fails at composition, before TensorFlow is imported.
Defaults live here; the YAML files only choose and override. Each field also states the
values it allows (`one_of`, `integer`, `number`): validation, error messages and the
code that dispatches on a choice all read them from here; and its help text, from which
docs/configuration.md's reference is generated (`tools/config_reference.py`).
"""

import functools
from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from seq2seq.config.command_schema import (
    DecodingConfig,
    EvaluateConfig,
    ExportConfig,
    PredictConfig,
    ScoreConfig,
)
from seq2seq.config.constraints import (
    described,
    duration,
    filesystem_path,
    integer,
    number,
    one_of,
)
from seq2seq.config.shipped import register_sample_resolver

# The task group lives in task_schema.py; its choices stay readable as schema.NAME.
from seq2seq.config.task_schema import DEFAULT_SUBWORD_VOCAB as DEFAULT_SUBWORD_VOCAB
from seq2seq.config.task_schema import GENERATED_TASKS as GENERATED_TASKS
from seq2seq.config.task_schema import TOKENIZERS as TOKENIZERS
from seq2seq.config.task_schema import TaskConfig

# What training watches lives in watch_schema.py; readable as schema.NAME too.
from seq2seq.config.watch_schema import METRICS as METRICS
from seq2seq.config.watch_schema import VALIDATION_METRICS as VALIDATION_METRICS
from seq2seq.config.watch_schema import EarlyStoppingConfig, PlateauConfig


@dataclass
class ModelConfig:
    """The network: embedding, encoder stack, bridge, decoder stack, output projection.

    Every field but `name` is an option of the model's constructor (`model_options`).
    """

    name: str = one_of(
        "lstm",
        ("lstm", "repeat_vector", "attention"),
        help="The model family (group `model/`; docs/models.md).",
    )
    units: int = integer(128, minimum=1, help="Width of every encoder layer (per direction).")
    embedding_dim: int = integer(
        64, minimum=1, help="Width of the token embedding (shared by encoder and decoder)."
    )
    num_layers: int = integer(
        1, minimum=1, help="Recurrent layers on each side; encoder layer k starts decoder layer k."
    )
    dropout: float = number(
        0.0,
        minimum=0.0,
        maximum=1.0,
        exclusive_maximum=True,
        help="Dropout on every recurrent layer's input and on the logits' input.",
    )
    cell: str = one_of(
        "lstm",
        ("lstm", "gru", "rnn"),
        help="The recurrent cell of both sides; GRU and SimpleRNN (`rnn`) return one state, LSTM two.",
    )
    bidirectional: bool = described(
        False,
        help="A Bidirectional encoder: outputs concatenated, forward and backward states per layer.",
    )
    bridge: str = one_of(
        "copy",
        ("copy", "concat", "dense", "zeros"),
        help="How encoder states become decoder initial states: as they are (copy); forward and backward joined (concat: needs a decoder twice as wide); a learned linear map per state (dense: any widths); none (zeros).",
    )
    decoder_units: int | None = integer(
        None, minimum=1, help="Width of the decoder; null means `model.units`."
    )
    attention: str | None = one_of(
        None,
        ("luong", "bahdanau"),
        help="The attention family's score: luong (`h W m`) or bahdanau (`v tanh(W1 h + W2 m)`); `model=attention` sets luong; null for the other families.",
    )


def model_options() -> dict:
    """The model constructor's options and their defaults: every `ModelConfig` field but `name`."""
    defaults = ModelConfig()
    return {
        name: getattr(defaults, name) for name in ModelConfig.__dataclass_fields__ if name != "name"
    }


@dataclass
class TrainerConfig:
    """How to fit: optimizer, schedule, batching, when to stop."""

    epochs: int | None = integer(
        None,
        minimum=1,
        help="The most epochs: passes over the training split, or `trainer.steps_per_epoch` steps each.",
    )
    steps_per_epoch: int | None = integer(
        None,
        minimum=1,
        help="Optimizer steps per epoch, read from a stream of passes over the training split that carries on from one epoch to the next, so that validation, early stopping, TensorBoard and checkpoints come every N steps (Lightning's `val_check_interval`); null: one pass.",
    )
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    time_budget: str | None = duration(
        None,
        help="Train for this long, e.g. `45m`, `1h30m`, `90s` or seconds: the run times its first steps and validation, plans the steps the budget holds (saved in `time_budget.json`: a resumed run keeps the plan) less what the finish needs, cuts them into `trainer.epochs` epochs and fits the warmup (at most a tenth of them), the schedule and the averaging window to them; the log and run.json say what it planned and why (docs/performance.md); null: off.",
    )
    keep_checkpoints: int | None = integer(
        None,
        minimum=1,
        help="Epoch checkpoints kept on disk (the best and the latest always are); null keeps all.",
    )
    average_checkpoints: int = integer(
        0,
        minimum=0,
        help="Average the weights of the last N epochs' checkpoints, ending at the epoch the run keeps (the last, or the best with early stopping), into the final model, which is then saved and measured; run.json names the epochs; 0 turns it off.",
    )
    batch_size: int = integer(
        128,
        minimum=1,
        help="Sequences per batch; under `multi_worker`, the global batch, split across workers.",
    )
    learning_rate: float = number(
        1e-2, minimum=0.0, exclusive_minimum=True, help="The peak learning rate."
    )
    lr_schedule: str | None = one_of(
        None,
        ("constant", "cosine", "plateau"),
        help="constant; cosine: decays from `learning_rate` towards 0 over `trainer.epochs`; plateau: decays by `trainer.plateau.factor` whenever `trainer.plateau.monitor` (validation's loss) stops improving, however long the run lasts; null: cosine for a generated task (it trains a known number of epochs), plateau for files of pairs (early stopping ends them long before a cosine over `trainer.epochs` would have decayed).",
    )
    plateau: PlateauConfig = field(default_factory=PlateauConfig)
    warmup_steps: int = integer(
        0,
        minimum=0,
        help="Optimizer steps over which the learning rate rises linearly from 0 to `learning_rate`, before the schedule.",
    )
    label_smoothing: float = number(
        0.0,
        minimum=0.0,
        maximum=1.0,
        exclusive_maximum=True,
        help="Label smoothing of the cross-entropy: the share of each target token's probability spread over the whole vocabulary.",
    )
    gradient_accumulation_steps: int = integer(
        1,
        minimum=1,
        help="Batches whose gradients are averaged into one optimizer step (Keras' optimizers do it); 1 updates after every batch.",
    )
    clipnorm: float | None = number(
        1.0,
        minimum=0.0,
        exclusive_minimum=True,
        help="Gradient clipping by global norm; null turns it off.",
    )
    ema_momentum: float | None = number(
        None,
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        exclusive_maximum=True,
        help="Keep an exponential moving average of the weights with this momentum, e.g. 0.999 (Keras' optimizer `use_ema`): validation, TensorBoard, checkpoints, averaging and the final model read the average, training updates the weights; null: off.",
    )
    optimizer: str = one_of(
        "adam",
        ("adam", "adamw", "nadam", "rmsprop", "sgd"),
        help="Any of these Keras optimizers, by the name `keras.optimizers.get` takes.",
    )
    precision: str = one_of(
        "auto",
        ("auto", "float32", "mixed_bfloat16", "mixed_float16"),
        help="float32, or a Keras mixed policy: float32 weights with bfloat16 (fast on CPUs with AMX) or float16 (GPUs) arithmetic; auto: the one this machine runs fastest: mixed_float16 on a GPU; on a CPU with AMX or AVX-512 BF16, float32 or mixed_bfloat16 as a few timed training steps of the run's model in each decide (bfloat16 only when more than 10% faster), cached under `data_dir/precision/` per model shape, batch size and CPU; float32 elsewhere (`seq2seq/machine/hardware.py`); named with the reason (and the times) in the log and `run.json`, kept by a resumed run.",
    )
    group_by_length: bool | None = described(
        None, help="Batches of sequences of similar length, so that little of a batch is padding."
    )
    xla: bool = described(
        False,
        help="Compile the training step with XLA (Keras' `jit_compile`), op determinism kept, so that a resumed run still ends with the uninterrupted run's weights; batches padded to their own longest rows are then padded to one of 4 lengths per side, so that a run compiles a handful of graphs (`seq2seq/machine/xla.py`); default: no XLA, which measured slower a step on CPUs (docs/performance.md); `trainer.strategy=default` only; run.json's `xla` says whether it ran.",
    )
    progress_seconds: float = number(
        30.0,
        minimum=0.0,
        help="Seconds between the progress lines logged during an epoch (step, loss, steps/s, time left) to train.log and to a stdout that is not a terminal, where Keras' progress bar is off; every epoch's figures are logged whatever it is; 0: no lines during an epoch.",
    )
    steps_per_execution: int = integer(
        1,
        minimum=1,
        help="Training steps run per call into the compiled graph: fewer host round trips; per-batch callbacks then see every Nth step.",
    )
    strategy: str = one_of(
        "default",
        ("default", "mirrored", "multi_worker"),
        help="default (one device), mirrored (the devices of this machine) or multi_worker (machines listed in `TF_CONFIG`); docs/distributed.md.",
    )
    resume: bool = described(
        False,
        help="Continue the run already in the run directory (`hydra.run.dir`) from its last checkpoint; it must have the same config (docs/reliability.md).",
    )
    init_from: str | None = filesystem_path(
        None,
        help="Fine-tuning: start from the weights of the finished run in this directory (a model of the same shape and tokenizers; `model.dropout` may differ), with a fresh optimizer and schedule (the warmup at most a tenth of this run's steps); on a file of pairs its vocabularies and length bound too (as `task.vocab_from`); new symbols' rows start fresh; recorded absolute; run.json names the parent.",
    )
    fine_tuning_rate: float = number(
        0.1,
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        help="With `trainer.init_from`: the peak learning rate is `trainer.learning_rate` times this (full steps from a trained model's weights undo what it knew); 1 trains at `learning_rate`.",
    )
    freeze_embeddings: bool = described(
        False,
        help="With `trainer.init_from`: keep the parent's embeddings as they are (both sides').",
    )
    freeze_encoder: bool = described(
        False, help="With `trainer.init_from`: keep the parent's encoder as it is."
    )


#: How many validation sources `logging.validation_points_per_epoch` decodes: the split's
#: first ones, the same each time, so that the curve follows the model and not the sample.
#: Two of the default batches of 128, a quarter of the default run's 1,000 sources.
STEP_VALIDATION_SOURCES = 256


@dataclass
class LoggingConfig:
    """What each run shows in TensorBoard beyond the scalars."""

    histogram_freq: int = integer(
        1, minimum=0, help="Weight histograms every N epochs; 0 turns them off."
    )
    samples: int = integer(
        8,
        minimum=0,
        help="Decoded validation samples shown as a text table after each epoch; 0 turns it off.",
    )
    images: bool = described(
        True,
        help="Heatmaps of h and c over a sample's steps (and attention weights) after each epoch.",
    )
    validation_points_per_epoch: int = integer(
        4,
        minimum=0,
        help=f"How many times an epoch (the last at its end) the first {STEP_VALIDATION_SOURCES} validation sources are decoded, as the epoch's validation decodes, and their figures written to TensorBoard as `validation/batch_*` at the optimizer step, so that a short run draws a validation curve; for the charts only: early stopping, checkpoints and `epoch_*` stay the whole split's, once an epoch. 0 turns it off.",
    )


@dataclass
class TrainConfig:
    """The whole configuration of `python train.py` (groups chosen in configs/train.yaml)."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    seed: int = integer(
        0,
        minimum=0,
        maximum=2**32 - 1,
        help="Seeds data generation, weight initialization, dropout and the order of batches; NumPy's and Keras' seeds are 32-bit.",
    )
    optimized_metric: str = one_of(
        "val/exact_match",
        tuple(f"val/{name}" for name in METRICS),
        help="What `python train.py` returns to a sweeper (Optuna maximizes or minimizes it); validation only: choosing hyperparameters on the test split would leak it.",
    )
    data_dir: str = filesystem_path(
        "data",
        help="Where generated datasets (and the encoded stores of files of pairs) are cached, keyed by the task's parameters; relative to the working directory.",
    )


@functools.cache  # once per process: every compose calls it, and storing costs ~60 ms
def register_configs() -> None:
    """Stores the schemas in Hydra's ConfigStore.

    The group schemas are stored as `schema/<group>`, outside the groups themselves so
    that they never show up as a choice (`model=...`); each YAML option names its schema
    first in its defaults list, which is what makes Hydra type-check it. Registers the
    configs' resolver `${sample:NAME}` too (`seq2seq.config.shipped`).
    """
    register_sample_resolver()
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(group="schema", name="task", node=TaskConfig)
    store.store(group="schema", name="model", node=ModelConfig)
    store.store(group="schema", name="trainer", node=TrainerConfig)
    store.store(name="evaluate_schema", node=EvaluateConfig)
    store.store(name="predict_schema", node=PredictConfig)
    store.store(name="score_schema", node=ScoreConfig)
    store.store(name="export_schema", node=ExportConfig)
    store.store(group="schema", name="decoding", node=DecodingConfig)
