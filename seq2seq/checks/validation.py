"""Checks that a composed training config can run, in plain Python (no TensorFlow import).

Hydra's schema catches unknown keys and wrong types; each field's own statement of
what it allows (`seq2seq.config.schema`) catches single values that cannot work; this
module adds the checks between keys: min_source_symbols <= max_source_symbols, held-out splits a task can
keep apart from training, model options that cannot work together, and what the
multi-worker loop does not support.
"""

import functools

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from seq2seq.base.errors import ConfigError, UserError, describe, format_value
from seq2seq.checks import memory
from seq2seq.checks.budget import check_time_budget
from seq2seq.checks.init_from import check_init_from, check_parents
from seq2seq.config.constraints import check_fields
from seq2seq.config.schema import TrainConfig
from seq2seq.config.watch_schema import PlateauConfig
from seq2seq.text.pair_files import check_pair_files
from seq2seq.text.task_counts import held_out_capacity


@functools.cache  # built once (7 ms, half a validation); merge copies it and culprit only reads it
def _train_schema() -> DictConfig:
    return OmegaConf.structured(TrainConfig)


def _check_schema(cfg: DictConfig) -> None:
    # Hydra's `+key=value` appends keys at the top level that the schema never sees;
    # merging onto the schema again refuses them like any other unknown key.
    body = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    try:
        OmegaConf.merge(_train_schema(), body)
    except OmegaConfBaseException as error:
        raise UserError(describe(error)) from error


def _check_task(task) -> None:
    if task.name == "tsv":
        check_pair_files(task)
        return
    if task.normalize != "none":  # generated symbols are numbers: nothing to normalize
        raise ConfigError(
            "task.normalize", task.normalize, "applies to task=tsv only; allowed here: none"
        )
    for key in ("train_paths", "train_weights"):
        if task[key]:
            raise ConfigError(
                f"task.{key}", list(task[key]), "applies to task=tsv only; allowed here: []"
            )
    if task.name == "addition" and task.vocab_size < 2:
        raise ConfigError("task.vocab_size", task.vocab_size, "must be an integer >= 2 (the base)")
    if task.max_source_symbols < task.min_source_symbols:
        raise ConfigError(
            "task.max_source_symbols",
            task.max_source_symbols,
            f"must be >= task.min_source_symbols ({task.min_source_symbols})",
        )
    if task.name == "reverse_prefix" and task.reversed_symbols > task.min_source_symbols:
        raise ConfigError(
            "task.reversed_symbols",
            task.reversed_symbols,
            f"must be <= task.min_source_symbols ({task.min_source_symbols}): every source needs that many symbols",
        )
    if task.name == "addition" and task.vocab_size ** (task.max_source_symbols + 1) >= 2**62:
        raise ConfigError(
            "task.max_source_symbols",
            task.max_source_symbols,
            f"sums of {task.max_source_symbols}-digit numbers in base {task.vocab_size} must stay below "
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
            f"lengths {task.min_source_symbols}..{task.max_source_symbols} (half of those of each length, so that "
            "training sees every length); use smaller splits or a larger task",
        )


def _check_model(model) -> None:
    if model.name == "attention" and model.attention is None:
        raise ConfigError("model.attention", None, "allowed: luong, bahdanau")
    if model.name != "attention" and model.attention is not None:
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
    watch = trainer.early_stopping
    average = trainer.average_checkpoints
    if average and trainer.epochs is not None and average > trainer.epochs:
        raise ConfigError(
            "trainer.average_checkpoints",
            average,
            f"the run trains at most trainer.epochs={trainer.epochs} epochs; "
            f"allowed: at most {trainer.epochs}",
        )
    if average and trainer.keep_checkpoints is not None and trainer.keep_checkpoints < average:
        raise ConfigError(
            "trainer.average_checkpoints",
            average,
            f"trainer.keep_checkpoints={trainer.keep_checkpoints} prunes the checkpoints it "
            f"would average; set trainer.keep_checkpoints to at least {average} or null",
        )
    if watch.goal is not None and watch.monitor in (None, "off"):
        raise ConfigError(
            "trainer.early_stopping.goal",
            watch.goal,
            "a goal needs a metric to reach; set trainer.early_stopping.monitor too",
        )
    _check_plateau(trainer)
    if trainer.xla and trainer.strategy != "default":
        raise ConfigError(
            "trainer.xla",
            True,
            f"XLA compiles the step of trainer.strategy=default only, not {trainer.strategy}'s; "
            "allowed: false",
        )
    if trainer.strategy == "multi_worker":
        # Its own training loop (seq2seq/training/distribute.py) runs every other feature
        # (early stopping, keep_checkpoints, the TensorBoard views, on the chief); these it
        # cannot: no resume, one step per call, no float16 loss scaling.
        unsupported = {
            "trainer.resume": (trainer.resume, False),
            "trainer.steps_per_execution": (trainer.steps_per_execution, 1),
            "trainer.precision": (trainer.precision, "auto", "float32", "mixed_bfloat16"),
            # Its loop has no epoch-end swap of the average into the model (ema.py).
            "trainer.ema_momentum": (trainer.ema_momentum, None),
        }
        for key, (value, *allowed) in unsupported.items():
            if value not in allowed:
                raise ConfigError(
                    key,
                    value,
                    f"trainer.strategy=multi_worker supports only {' or '.join(map(str, allowed))}",
                )


def _check_plateau(trainer) -> None:
    """`lr_schedule=plateau` starts at the peak rate and decays on the chief, above its floor,
    before early stopping ends the run; under another schedule its keys would do nothing."""
    if trainer.lr_schedule != "plateau":
        if trainer.lr_schedule is not None:  # null is the task's choice, filled in first
            _refuse_plateau_keys(trainer)
        return
    # The peak rate as seq2seq.training.compile.peak_rate computes it (TensorFlow's side).
    start, rate = trainer.learning_rate, f"trainer.learning_rate={trainer.learning_rate}"
    if trainer.init_from is not None:
        start *= trainer.fine_tuning_rate
        rate = f"{start:g} ({rate} x trainer.fine_tuning_rate={trainer.fine_tuning_rate})"
    if trainer.plateau.min_learning_rate >= start:
        raise ConfigError(
            "trainer.plateau.min_learning_rate", trainer.plateau.min_learning_rate,
            f"the rate starts at {rate} and never decays below this floor; allowed: below "
            f"{start:g}",
        )  # fmt: skip
    watch = trainer.early_stopping
    if watch.monitor not in (None, "off") and trainer.plateau.patience >= watch.patience:
        lower = (
            f"1 to {watch.patience - 1}"
            if watch.patience > 1
            else "a larger trainer.early_stopping.patience"
        )
        raise ConfigError(
            "trainer.plateau.patience", trainer.plateau.patience,
            f"early stopping ends the run after trainer.early_stopping.patience="
            f"{watch.patience} epochs without improvement, before the rate would decay; "
            f"allowed: {lower}, or trainer.early_stopping.monitor=off",
        )  # fmt: skip
    if trainer.warmup_steps:
        raise ConfigError(
            "trainer.warmup_steps",
            trainer.warmup_steps,
            "trainer.lr_schedule=plateau starts at trainer.learning_rate; allowed: 0, or "
            "trainer.lr_schedule=cosine or constant for a warmup",
        )
    if trainer.strategy == "multi_worker":
        # The chief alone runs the callbacks: a decay there would leave the workers' rates.
        raise ConfigError(
            "trainer.lr_schedule",
            "plateau",
            "trainer.strategy=multi_worker supports only cosine or constant",
        )


def _refuse_plateau_keys(trainer) -> None:
    """Refuses a `trainer.plateau.*` key set away from its default under a schedule that
    never reads it."""
    defaults = PlateauConfig()
    for key, value in trainer.plateau.items():
        if value != getattr(defaults, key):
            raise ConfigError(
                f"trainer.plateau.{key}", value,
                f"trainer.lr_schedule={trainer.lr_schedule} never decays on plateau; allowed: "
                f"{format_value(getattr(defaults, key))}, or trainer.lr_schedule=plateau",
            )  # fmt: skip


def validate(cfg: DictConfig) -> None:
    """Checks a composed `train` config.

    Args:
        cfg: the config as Hydra composed it.

    Raises:
        ConfigError: naming the first key whose value cannot work, and what is allowed.
        UserError: for a key that is not in the schema.
    """
    _check_schema(cfg)
    check_fields(cfg, TrainConfig, prefix="")
    _check_task(cfg.task)
    _check_model(cfg.model)
    _check_trainer(cfg.trainer)
    check_time_budget(cfg.trainer)
    check_init_from(cfg)
    if not cfg.trainer.resume:  # a resumed run needs only its own directory (run_dir.py)
        check_parents(cfg)
    _check_memory(cfg)


def _check_memory(cfg: DictConfig) -> None:
    """Refuses a run whose estimated memory exceeds what the machine has available,
    naming the key most likely at fault and the largest value of it that fits."""
    available = memory.available_bytes()
    need = memory.total(cfg)
    if available is None or need <= available:
        return
    key = memory.culprit(cfg, _train_schema())
    most = memory.largest_that_fits(cfg, key, available)
    allowed = f"at most {most:,}" if most else "no value"
    raise ConfigError(
        key,
        OmegaConf.select(cfg, key),
        f"the run would need about {memory.gigabytes(need)} of memory and this machine has "
        f"{memory.gigabytes(available)} available; allowed: {allowed} with the other "
        "settings as they are",
    )
