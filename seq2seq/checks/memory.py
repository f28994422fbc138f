"""A run's memory, estimated from its config before anything is built.

A value such as `task.max_source_symbols=100000` or `model.units=100000` is a valid number but
asks for more memory than the machine has: left alone, the run grows until the
operating system kills it, without a message. The estimate here adds up what a run
holds at once, in float32:

- the generated data: token ids of every split, as arrays and as the pipeline's
  teacher-forcing copies (a file of pairs is measured when it is read, not here);
- the weights, their gradients and two optimizer slots (Adam's moments);
- one training batch's activations kept for the backward pass: each recurrent layer's
  gates and states at every step, the embeddings, the logits and their softmax;
- what TensorFlow itself takes (measured: about 0.6 GB for the default run).

It is an estimate, meant to tell 100 MB from 100 GB, not 1.0 GB from 1.2 GB; a config is
refused only when the estimate exceeds the memory available now.
"""

import math
import os

from omegaconf import DictConfig, OmegaConf

from seq2seq.base.tokens import FIRST_SYMBOL_ID

FLOAT = 4  # bytes of a float32 or an int32
TENSORFLOW_BYTES = 600 * 2**20
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
#: The keys that size a run, with the defaults that a user's change is measured against.
SIZING_KEYS = (
    "task.max_source_symbols",
    "task.train_size",
    "task.val_size",
    "task.test_size",
    "task.vocab_size",
    "model.units",
    "model.decoder_units",
    "model.embedding_dim",
    "model.num_layers",
    "trainer.batch_size",
)


def available_bytes() -> int | None:
    """Memory available to a new process now (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _lengths(task) -> tuple:
    """(source length, target length + 1) of a generated task's longest pair."""
    if task.name == "addition":
        return 2 * task.max_source_symbols + 1, task.max_source_symbols + 2
    if task.name == "reverse_prefix":
        return task.max_source_symbols, task.reversed_symbols + 1
    return task.max_source_symbols, task.max_source_symbols + 1


def estimate(cfg: DictConfig) -> dict:
    """The estimated bytes of each part of a training run: `data`, `weights`,
    `activations` and `tensorflow` (see the module docstring)."""
    task, model, trainer = cfg.task, cfg.model, cfg.trainer
    generated = task.name != "tsv"
    vocab = (
        task.vocab_size + FIRST_SYMBOL_ID + 1 if generated else 0
    )  # and addition's `+`; a file's vocabulary is not known yet
    source_len, target_len = _lengths(task) if generated else (0, 0)
    rows = task.train_size + task.val_size + task.test_size if generated else 0
    # Sources and targets, then the pipeline's decoder inputs, labels and weights.
    data = rows * (2 * source_len + 3 * target_len) * FLOAT

    units, embedding = model.units, model.embedding_dim
    decoder = model.decoder_units or units
    directions = 2 if model.bidirectional else 1
    gates = GATES[model.cell]
    weights = vocab * embedding + decoder * vocab + vocab
    for layer in range(model.num_layers):
        width = embedding if layer == 0 else units * directions
        weights += directions * gates * units * (width + units + 1)
        decoder_width = embedding if layer == 0 else decoder
        weights += gates * decoder * (decoder_width + decoder + 1)
    if model.name == "attention":
        weights += 3 * decoder * decoder + decoder * units * directions
    # The weights, their gradients and the optimizer's two slots.
    weights_bytes = 4 * weights * FLOAT

    steps = source_len * directions * units + target_len * decoder
    per_sequence = model.num_layers * steps * (gates + 3) + target_len * vocab * 3
    per_sequence += (source_len + target_len) * embedding
    activations = trainer.batch_size * per_sequence * FLOAT
    return {
        "data": data,
        "weights": weights_bytes,
        "activations": activations,
        "tensorflow": TENSORFLOW_BYTES,
    }


def total(cfg: DictConfig) -> int:
    """The estimated bytes of the whole run."""
    return sum(estimate(cfg).values())


def _value(cfg: DictConfig, key: str):
    return OmegaConf.select(cfg, key)


def culprit(cfg: DictConfig, defaults: DictConfig) -> str:
    """The sizing key set furthest above its default: what the user most likely asked
    too much of."""

    def ratio(key):
        value, default = _value(cfg, key), _value(defaults, key)
        if value is None or not default:
            return 0.0
        return value / default

    return max(SIZING_KEYS, key=ratio)


def largest_that_fits(cfg: DictConfig, key: str, budget: int) -> int:
    """The largest value of `key` (the others as they are) whose estimate fits `budget`;
    0 if none does."""

    def fits(value: int) -> bool:
        trial = OmegaConf.merge(cfg, OmegaConf.from_dotlist([f"{key}={value}"]))
        return total(trial) <= budget

    low, high = 0, max(1, int(_value(cfg, key)))
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def gigabytes(count: int) -> str:
    """Bytes in GB (or MB below one GB), for messages."""
    if count >= 2**30:
        return f"{count / 2**30:,.1f} GB"
    return f"{math.ceil(count / 2**20):,} MB"
