"""Checks of the `evaluate`, `predict` and `score` commands' configs against the run they name."""

import json
import os
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq.base.errors import ConfigError
from seq2seq.base.files import TEMPORARY_PREFIX
from seq2seq.base.names import CONFIG_FILE, METRICS_FILE, MODEL_FILE, VOCAB_FILE
from seq2seq.checks.decoding import check_decoding
from seq2seq.config.command_schema import (
    EvaluateConfig,
    PredictConfig,
    ScoreConfig,
)
from seq2seq.config.constraints import check_fields
from seq2seq.config.renamed import upgraded
from seq2seq.text.text_files import file_problem


def load_run_config(cfg: DictConfig) -> DictConfig:
    """The training config of the finished run that `cfg.run_dir` names.

    A run is finished once it wrote `metrics.json`, its last file; a run that stopped
    before (a failure, an interrupt, even in its final save) is not, though it may hold
    a `model.keras`.

    Raises:
        ConfigError: if run_dir is missing, is not a finished run of train.py, or its
            config.yaml or metrics.json is damaged.
    """
    if OmegaConf.is_missing(cfg, "run_dir"):
        raise ConfigError(
            "run_dir", "???", "required: the directory of a finished run (run_dir=DIR)"
        )
    return finished_run_config("run_dir", cfg.run_dir)


def finished_run_config(key: str, directory: str) -> DictConfig:
    """The training config of the finished run in `directory`, which `key` names.

    Args:
        key: the key that gave the directory (`run_dir`, `ensemble`), for messages.
        directory: the run directory.

    Returns:
        Its training config.

    Raises:
        ConfigError: naming `key` and the directory, if it is not a finished run of
            train.py, or its config.yaml or metrics.json is damaged.
    """
    run_dir = Path(directory)
    for name in (CONFIG_FILE, MODEL_FILE, VOCAB_FILE, METRICS_FILE):
        if not (run_dir / name).is_file():
            hint = (
                "the run did not finish; continue it with train.py trainer.resume=true"
                if name == METRICS_FILE and (run_dir / CONFIG_FILE).is_file()
                else "allowed: a directory train.py wrote, e.g. outputs/DATE/TIME"
            )
            raise ConfigError(key, directory, f"no finished run there ({name} is missing); {hint}")
    try:
        run_cfg = upgraded(OmegaConf.load(run_dir / CONFIG_FILE))
        run_cfg.task.name, run_cfg.trainer.epochs  # noqa: B018 - a config of another kind fails here
    except Exception as error:  # noqa: BLE001 - YAML and OmegaConf each raise their own kind
        raise ConfigError(
            key,
            directory,
            f"its {CONFIG_FILE} is damaged ({type(error).__name__}); allowed: a finished run",
        ) from None
    try:
        if not isinstance(json.loads((run_dir / METRICS_FILE).read_text()), dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        reason = (
            str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        )
        raise ConfigError(
            key, directory,
            f"{METRICS_FILE} is damaged and cannot be read ({reason}); allowed: a finished run",
        ) from None  # fmt: skip
    return run_cfg


def check_ensemble(cfg: DictConfig) -> None:
    """Each `ensemble` entry is a finished run, neither run_dir nor another entry again
    (paths compared resolved): a model listed twice would count twice in the mean. Whether
    its target vocabulary is run_dir's is checked once the runs load
    (`seq2seq.serving.finished_run.load_ensemble`).

    Raises:
        ConfigError: naming ensemble and the entry.
    """
    seen = {Path(cfg.run_dir).resolve(): "run_dir"}
    for entry in cfg.ensemble:
        finished_run_config("ensemble", entry)
        resolved = Path(entry).resolve()
        if resolved in seen:
            raise ConfigError(
                "ensemble", entry,
                f"is {seen[resolved]} again and would count twice in the mean; allowed: "
                "other finished runs, each once",
            )  # fmt: skip
        seen[resolved] = f"the entry {str(entry)!r}"


def check_output_file(
    path: str | None, run_dir=None, input_file: str | None = None, key: str = "run_dir"
) -> None:
    """The output file is none of the run's files nor the input, and its directory takes a file.

    Paths are compared resolved, so that a symbolic link or `..` into the run directory
    is caught; a probe file is created and removed, because `os.access` says yes to root
    even where no file can be made (`/proc`, `/sys`). All before the model loads.

    Args:
        path: `output_file`, or None for stdout.
        run_dir: the run's directory, whose files must not be replaced.
        input_file: the file of inputs, which must not be replaced either.
        key: the key that named `run_dir` (`run_dir`, or `ensemble` for a member's).

    Raises:
        ConfigError: naming output_file.
    """
    if path is None:
        return
    target = Path(path).resolve()
    if run_dir is not None:
        run = Path(run_dir).resolve()
        if target == run or run in target.parents:
            raise ConfigError(
                "output_file", path,
                f"is inside {key}={str(run_dir)!r} and would replace the run's own files; "
                "allowed: a file outside the run directory",
            )  # fmt: skip
    if input_file is not None and (
        target == Path(input_file).resolve()
        or (target.exists() and os.path.samefile(target, input_file))
    ):
        raise ConfigError(
            "output_file", path,
            f"is the input file (input_file={input_file!r}) and would replace it; allowed: another file",
        )  # fmt: skip
    directory = target.parent
    if target.is_dir():
        raise ConfigError("output_file", path, "is a directory; allowed: a file")
    try:
        tempfile.TemporaryFile(dir=directory, prefix=TEMPORARY_PREFIX).close()
    except OSError as error:
        raise ConfigError(
            "output_file", path,
            f"cannot be written in {directory} ({error.strerror or error}); allowed: a file in "
            "a writable directory",
        ) from None  # fmt: skip


def generalization_lengths(eval_cfg: DictConfig, trained_max_len: int) -> tuple[int, int]:
    """The shortest and longest source of the length-generalization split, in symbols,
    defaults filled in."""
    min_len = (
        trained_max_len + 1 if eval_cfg.min_source_symbols is None else eval_cfg.min_source_symbols
    )
    max_len = (
        trained_max_len + 5 if eval_cfg.max_source_symbols is None else eval_cfg.max_source_symbols
    )
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
    check_ensemble(cfg)
    check_decoding(cfg)
    # decoding.max_tokens is allowed: it replaces the run's length bound, as in predict.
    if cfg.eval.file is not None and file_problem(cfg.eval.file) is not None:
        raise ConfigError("eval.file", cfg.eval.file, file_problem(cfg.eval.file))
    if run_cfg.task.name == "tsv" or cfg.eval.file is not None:
        for key in ("min_source_symbols", "max_source_symbols"):
            if cfg.eval[key] is not None:
                raise ConfigError(
                    f"eval.{key}",
                    cfg.eval[key],
                    "a file of pairs has no generated longer split; leave it null",
                )
        return run_cfg
    trained_max = run_cfg.task.max_source_symbols
    min_len, max_len = generalization_lengths(cfg.eval, trained_max)
    if min_len <= trained_max:
        raise ConfigError(
            "eval.min_source_symbols",
            min_len,
            f"must be > the run's task.max_source_symbols ({trained_max}): length generalization is "
            "measured beyond the training range",
        )
    if max_len < min_len:
        raise ConfigError(
            "eval.max_source_symbols", max_len, f"must be >= eval.min_source_symbols ({min_len})"
        )
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
    if cfg.input_file is not None and file_problem(cfg.input_file) is not None:
        raise ConfigError("input_file", cfg.input_file, file_problem(cfg.input_file))
    check_fields(cfg, PredictConfig, prefix="")
    check_ensemble(cfg)
    check_decoding(cfg)
    check_output_file(cfg.output_file, cfg.run_dir, cfg.input_file)
    for member in cfg.ensemble:  # nor any member's
        check_output_file(cfg.output_file, member, key="ensemble")
    return run_cfg


def validate_score(cfg: DictConfig) -> DictConfig:
    """Checks a `score` config against the run it names.

    Returns:
        The run's training config.

    Raises:
        ConfigError: naming the first key whose value cannot work.
    """
    run_cfg = load_run_config(cfg)
    if cfg.input_file is None:
        raise ConfigError(
            "input_file", None, "required: a file of source<TAB>target pairs (input_file=PATH)"
        )
    check_fields(cfg, ScoreConfig, prefix="")
    if file_problem(cfg.input_file) is not None:
        raise ConfigError("input_file", cfg.input_file, file_problem(cfg.input_file))
    check_output_file(cfg.output_file, cfg.run_dir, cfg.input_file)
    return run_cfg
