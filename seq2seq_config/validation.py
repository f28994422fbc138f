"""Checks that a composed config can run, in plain Python (no TensorFlow import).

Hydra's schema catches unknown keys and wrong types; this module catches values that
have the right type but cannot work (zero units, min_len > max_len, too few distinct
sequences for disjoint splits, ...).
"""

from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from seq2seq_config.errors import ConfigError, UserError, describe
from seq2seq_config.schema import TrainConfig

#: Generated tasks, then the task that reads a file.
GENERATED_TASKS = ("reverse", "copy", "sort", "reverse_prefix", "addition")
TASKS = GENERATED_TASKS + ("tsv",)
TOKENIZERS = ("char", "space")
BAD_LINE_ACTIONS = ("error", "skip")
DISTRIBUTION_STRATEGIES = ("default", "mirrored", "multi_worker")
MODELS = ("lstm", "repeat_vector", "attention")
CELLS = ("lstm", "gru", "rnn")
BRIDGES = ("copy", "concat", "dense", "zeros")
ATTENTIONS = ("luong", "bahdanau")
OPTIMIZERS = ("adam", "adamw", "nadam", "rmsprop", "sgd")
LR_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Validation only: choosing hyperparameters on the test split would leak it.
OPTIMIZED_METRICS = ("val/exact_match", "val/token_accuracy", "val/loss")


def _choice(key: str, value: Any, choices: Iterable[str]) -> None:
    if value not in choices:
        raise ConfigError(key, value, f"allowed: {', '.join(choices)}")


def _at_least(key: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise ConfigError(key, value, f"must be an integer >= {minimum}")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(key, value, "must be a number > 0")


def number_count(base: int, digits: int) -> int:
    """How many numbers are written with exactly `digits` digits in `base` (0 has one)."""
    return base if digits == 1 else (base - 1) * base ** (digits - 1)


def source_lengths(task) -> range:
    """The lengths a generated task's sources can have, in symbols."""
    if task.name == "addition":  # two numbers and the plus sign
        return range(2 * task.min_len + 1, 2 * task.max_len + 2)
    return range(task.min_len, task.max_len + 1)


def source_count(task, length: int) -> int:
    """How many distinct sources of `length` symbols a generated task has."""
    if task.name != "addition":
        return task.vocab_size**length
    digits = range(task.min_len, task.max_len + 1)
    return sum(
        number_count(task.vocab_size, a) * number_count(task.vocab_size, length - 1 - a)
        for a in digits
        if length - 1 - a in digits
    )


def held_out_limit(task, length: int) -> int:
    """How many distinct sources of one length validation and test may take together.

    Half of them, so that training keeps the other half and sees every length.
    """
    return source_count(task, length) // 2


def held_out_capacity(task, enough: int) -> int:
    """How many sources validation and test may take in all, counted up to `enough`."""
    total = 0
    for length in source_lengths(task):
        total += held_out_limit(task, length)
        if total >= enough:
            break
    return total


def _check_schema(cfg: DictConfig) -> None:
    # Hydra's `+key=value` appends keys at the top level that the schema never sees;
    # merging onto the schema again refuses them like any other unknown key.
    body = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    try:
        OmegaConf.merge(OmegaConf.structured(TrainConfig), body)
    except OmegaConfBaseException as error:
        raise UserError(describe(error)) from error


def _check_task(task) -> None:
    _choice("task.name", task.name, TASKS)
    for split in ("val", "test"):
        _at_least(f"task.{split}_size", task[f"{split}_size"], 1)
    if task.name == "tsv":
        _check_tsv(task)
        return
    _at_least("task.vocab_size", task.vocab_size, 2 if task.name == "addition" else 1)
    _at_least("task.min_len", task.min_len, 1)
    if task.max_len < task.min_len:
        raise ConfigError(
            "task.max_len", task.max_len, f"must be >= task.min_len ({task.min_len})"
        )
    _at_least("task.train_size", task.train_size, 1)
    if task.name == "reverse_prefix":
        _at_least("task.target_len", task.target_len, 1)
        if task.target_len > task.min_len:
            raise ConfigError(
                "task.target_len",
                task.target_len,
                f"must be <= task.min_len ({task.min_len}): every source needs that many symbols",
            )
    if task.name == "addition" and task.vocab_size ** (task.max_len + 1) >= 2**62:
        raise ConfigError(
            "task.max_len",
            task.max_len,
            f"sums of {task.max_len}-digit numbers in base {task.vocab_size} must stay below "
            "2**62; use fewer digits",
        )
    held_out = task.val_size + task.test_size
    capacity = held_out_capacity(task, held_out)
    if held_out > capacity:
        raise ConfigError(
            "task.val_size",
            task.val_size,
            f"with task.test_size={task.test_size}, validation and test may take at most "
            f"{capacity} distinct sources of task={task.name}, vocab_size={task.vocab_size}, "
            f"lengths {task.min_len}..{task.max_len} (half of those of each length, so that "
            "training sees every length); use smaller splits or a larger task",
        )


def _check_tsv(task) -> None:
    if task.path is None:
        raise ConfigError("task.path", None, "task=tsv needs the file of source<TAB>target lines")
    if not Path(task.path).is_file():
        raise ConfigError("task.path", task.path, "no such file")
    _choice("task.tokenizer", task.tokenizer, TOKENIZERS)
    _at_least("task.min_freq", task.min_freq, 1)
    _choice("task.on_bad_line", task.on_bad_line, BAD_LINE_ACTIONS)


def _check_model(model) -> None:
    _choice("model.name", model.name, MODELS)
    for key in ("units", "embedding_dim", "num_layers"):
        _at_least(f"model.{key}", model[key], 1)
    if model.decoder_units is not None:
        _at_least("model.decoder_units", model.decoder_units, 1)
    if not 0.0 <= model.dropout < 1.0:
        raise ConfigError("model.dropout", model.dropout, "must be in [0, 1)")
    _choice("model.cell", model.cell, CELLS)
    _choice("model.bridge", model.bridge, BRIDGES)
    if model.name == "attention":
        _choice("model.attention", model.attention, ATTENTIONS)
    elif model.attention is not None:
        raise ConfigError(
            "model.attention", model.attention, "only model=attention attends; leave it null"
        )
    _check_bridge(model)


def _check_bridge(model) -> None:
    """Refuses encoder-to-decoder state hand-overs that cannot work, saying what to change."""
    bridge = model.bridge
    decoder_units = model.units if model.decoder_units is None else model.decoder_units
    if model.name == "repeat_vector" and bridge != "zeros":
        raise ConfigError(
            "model.bridge",
            bridge,
            "the repeat_vector model passes no state (its encoder returns only the last h); "
            "allowed: zeros",
        )
    if model.name == "lstm" and bridge == "zeros":
        raise ConfigError(
            "model.bridge",
            bridge,
            "the lstm model's decoder sees the source only through the encoder's states; "
            "use model.bridge=copy, concat or dense, or model=attention",
        )
    if bridge == "copy" and model.bidirectional:
        raise ConfigError(
            "model.bridge",
            bridge,
            "a bidirectional encoder has forward and backward states for each decoder "
            "state; use model.bridge=concat or dense",
        )
    if bridge == "copy" and decoder_units != model.units:
        raise ConfigError(
            "model.bridge",
            bridge,
            f"copied states are model.units={model.units} wide but the decoder has "
            f"{decoder_units} units; use model.bridge=dense or leave model.decoder_units null",
        )
    if bridge == "concat" and not model.bidirectional:
        raise ConfigError(
            "model.bridge",
            bridge,
            "concat joins forward and backward states; set model.bidirectional=true or use "
            "model.bridge=copy",
        )
    if bridge == "concat" and decoder_units != 2 * model.units:
        raise ConfigError(
            "model.bridge",
            bridge,
            f"the concatenated bidirectional states are {2 * model.units} wide but the "
            f"decoder has {decoder_units} units; set model.decoder_units={2 * model.units} "
            "or use model.bridge=dense",
        )


def _check_trainer(trainer) -> None:
    _at_least("trainer.epochs", trainer.epochs, 1)
    _at_least("trainer.batch_size", trainer.batch_size, 1)
    _positive("trainer.learning_rate", trainer.learning_rate)
    _choice("trainer.lr_schedule", trainer.lr_schedule, LR_SCHEDULES)
    if trainer.clipnorm is not None:
        _positive("trainer.clipnorm", trainer.clipnorm)
    _choice("trainer.optimizer", trainer.optimizer, OPTIMIZERS)
    _choice("trainer.precision", trainer.precision, PRECISIONS)
    _at_least("trainer.steps_per_execution", trainer.steps_per_execution, 1)
    _choice("trainer.strategy", trainer.strategy, DISTRIBUTION_STRATEGIES)
    if trainer.strategy == "multi_worker":
        # Its own training loop (seq2seq/distribute.py) does less than Keras' fit.
        unsupported = {
            "trainer.resume": (trainer.resume, False),
            "trainer.steps_per_execution": (trainer.steps_per_execution, 1),
            "trainer.precision": (trainer.precision, "float32", "mixed_bfloat16"),
        }
        for key, (value, *allowed) in unsupported.items():
            if value not in allowed:
                raise ConfigError(
                    key, value,
                    f"trainer.strategy=multi_worker supports only {' or '.join(map(str, allowed))}",
                )


def validate(cfg: DictConfig) -> None:
    """Checks a composed `train` config.

    Args:
        cfg: the config as Hydra composed it.

    Raises:
        ConfigError: naming the first key whose value cannot work, and what is allowed.
        UserError: for a key that is not in the schema.
    """
    _check_schema(cfg)
    if cfg.seed < 0:
        raise ConfigError("seed", cfg.seed, "must be an integer >= 0")
    _check_task(cfg.task)
    _check_model(cfg.model)
    _check_trainer(cfg.trainer)
    _at_least("logging.histogram_freq", cfg.logging.histogram_freq, 0)
    _at_least("logging.samples", cfg.logging.samples, 0)
    _choice("optimized_metric", cfg.optimized_metric, OPTIMIZED_METRICS)


STRATEGIES = ("greedy", "beam", "sample")
SPLITS = ("val", "test")


def validate_decoding(decoding) -> None:
    """Checks a `decoding` group.

    Raises:
        ConfigError: naming the first key whose value cannot work.
    """
    _choice("decoding.strategy", decoding.strategy, STRATEGIES)
    _at_least("decoding.beam_size", decoding.beam_size, 1)
    if decoding.length_penalty < 0:
        raise ConfigError("decoding.length_penalty", decoding.length_penalty, "must be >= 0")
    _positive("decoding.temperature", decoding.temperature)
    _at_least("decoding.top_k", decoding.top_k, 0)
    if decoding.max_len is not None:
        _at_least("decoding.max_len", decoding.max_len, 1)
    if decoding.seed < 0:
        raise ConfigError("decoding.seed", decoding.seed, "must be an integer >= 0")


def load_run_config(cfg: DictConfig) -> DictConfig:
    """The training config of the finished run that `cfg.run_dir` names.

    Raises:
        ConfigError: if run_dir is missing, or is not a finished run of train.py.
    """
    if OmegaConf.is_missing(cfg, "run_dir"):
        raise ConfigError("run_dir", "???", "required: the directory of a finished run (run_dir=DIR)")
    run_dir = Path(cfg.run_dir)
    for name in ("config.yaml", "model.keras", "vocab.json"):
        if not (run_dir / name).is_file():
            raise ConfigError(
                "run_dir",
                cfg.run_dir,
                f"no finished run there ({name} is missing); allowed: a directory train.py "
                "wrote, e.g. outputs/DATE/TIME",
            )
    return OmegaConf.load(run_dir / "config.yaml")


def validate_evaluate(cfg: DictConfig) -> DictConfig:
    """Checks an `evaluate` config against the run it names.

    Returns:
        The run's training config.

    Raises:
        ConfigError: naming the first key whose value cannot work.
    """
    run_cfg = load_run_config(cfg)
    _choice("split", cfg.split, SPLITS)
    validate_decoding(cfg.decoding)
    if cfg.decoding.max_len is not None:
        raise ConfigError(
            "decoding.max_len",
            cfg.decoding.max_len,
            "evaluate decodes up to each target's own length (a longer output cannot match); "
            "leave it null",
        )
    _at_least("eval.size", cfg.eval.size, 1)
    _at_least("eval.batch_size", cfg.eval.batch_size, 1)
    if run_cfg.task.name == "tsv":
        for key in ("min_len", "max_len"):
            if cfg.eval[key] is not None:
                raise ConfigError(
                    f"eval.{key}", cfg.eval[key],
                    "a task=tsv run has no generated longer split; leave it null",
                )
        return run_cfg
    trained_max = run_cfg.task.max_len
    min_len, max_len = generalization_lengths(cfg.eval, trained_max)
    if min_len <= trained_max:
        raise ConfigError(
            "eval.min_len",
            min_len,
            f"must be > the run's task.max_len ({trained_max}): length generalization is "
            "measured beyond the training range",
        )
    if max_len < min_len:
        raise ConfigError("eval.max_len", max_len, f"must be >= eval.min_len ({min_len})")
    return run_cfg


def generalization_lengths(eval_cfg, trained_max_len: int):
    """The (min_len, max_len) of the length-generalization split, defaults filled in."""
    min_len = trained_max_len + 1 if eval_cfg.min_len is None else eval_cfg.min_len
    max_len = trained_max_len + 5 if eval_cfg.max_len is None else eval_cfg.max_len
    return min_len, max_len


def validate_predict(cfg: DictConfig) -> DictConfig:
    """Checks a `predict` config against the run it names.

    Returns:
        The run's training config.

    Raises:
        ConfigError: naming the first key whose value cannot work.
    """
    run_cfg = load_run_config(cfg)
    if (cfg.input is None) == (cfg.input_file is None):
        raise ConfigError(
            "input", cfg.input, 'give exactly one of input="3 1 4 1 5" or input_file=PATH'
        )
    if cfg.input_file is not None and not Path(cfg.input_file).is_file():
        raise ConfigError("input_file", cfg.input_file, "no such file")
    if cfg.max_input_len is not None:
        _at_least("max_input_len", cfg.max_input_len, 1)
    _at_least("batch_size", cfg.batch_size, 1)
    validate_decoding(cfg.decoding)
    return run_cfg
