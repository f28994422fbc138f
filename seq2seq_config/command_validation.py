"""Checks of the `evaluate` and `predict` commands' configs against the run they name."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq_config.command_schema import EvaluateConfig, PredictConfig
from seq2seq_config.constraints import check_fields
from seq2seq_config.errors import ConfigError


def load_run_config(cfg: DictConfig) -> DictConfig:
    """The training config of the finished run that `cfg.run_dir` names.

    Raises:
        ConfigError: if run_dir is missing, or is not a finished run of train.py.
    """
    if OmegaConf.is_missing(cfg, "run_dir"):
        raise ConfigError(
            "run_dir", "???", "required: the directory of a finished run (run_dir=DIR)"
        )
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


def generalization_lengths(eval_cfg: DictConfig, trained_max_len: int) -> tuple[int, int]:
    """The (min_len, max_len) of the length-generalization split, defaults filled in."""
    min_len = trained_max_len + 1 if eval_cfg.min_len is None else eval_cfg.min_len
    max_len = trained_max_len + 5 if eval_cfg.max_len is None else eval_cfg.max_len
    return min_len, max_len


def validate_evaluate(cfg: DictConfig) -> DictConfig:
    """Checks an `evaluate` config against the run it names.

    Returns:
        The run's training config.

    Raises:
        ConfigError: naming the first key whose value cannot work.
    """
    run_cfg = load_run_config(cfg)
    check_fields(cfg, EvaluateConfig, prefix="")
    if cfg.decoding.max_len is not None:
        raise ConfigError(
            "decoding.max_len",
            cfg.decoding.max_len,
            "evaluate decodes up to each target's own length (a longer output cannot match); "
            "leave it null",
        )
    if run_cfg.task.name == "tsv":
        for key in ("min_len", "max_len"):
            if cfg.eval[key] is not None:
                raise ConfigError(
                    f"eval.{key}",
                    cfg.eval[key],
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
    check_fields(cfg, PredictConfig, prefix="")
    return run_cfg
