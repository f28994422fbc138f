"""The run directory: checked once before training starts, locked, never overwritten, resumable.

A run directory holds one run, and one process at a time (`run_lock`). A directory
holds a run once an epoch has finished there (a checkpoint) or the run has finished;
starting another run there is refused, unless `trainer.resume=true` asks to continue
that run, with the same config. A directory where a run failed before finishing an
epoch holds nothing worth keeping and takes a new run. Unwritable directories are
reported before TensorFlow is even imported. `open_run` does all of it once per run,
for `train.py` and `seq2seq.train` alike.
"""

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seq2seq.base.errors import ConfigError, UserError
from seq2seq.base.files import atomic_write_text, file_sha256
from seq2seq.base.names import (
    CHECKPOINT_GLOB,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    DATA_RECORD,
    LATEST_CHECKPOINT,
    METRICS_FILE,
    MODEL_FILE,
    OVERRIDES_FILE,
)
from seq2seq.checks.init_from import check_parents
from seq2seq.checks.validation import validate
from seq2seq.config.renamed import upgraded
from seq2seq.config.task_defaults import with_task_defaults
from seq2seq.run.run_lock import run_lock

log = logging.getLogger(__name__)

#: Files that show a run finished an epoch (or the whole run) in a directory, first found
#: is named: the run's results, its newest checkpoint record, or any checkpoint (a kill
#: between a checkpoint and its record leaves the checkpoint alone).
RUN_FILES = (
    METRICS_FILE,
    MODEL_FILE,
    f"{CHECKPOINTS_DIR}/{LATEST_CHECKPOINT}",
    f"{CHECKPOINTS_DIR}/{CHECKPOINT_GLOB}",
)
#: Keys a resumed run may change: how it is started, not what it computes.
RESUME_MAY_CHANGE = ("trainer.resume",)


@dataclass(frozen=True)
class RunDirectory:
    """A run directory checked and ready for training.

    Attributes:
        cfg: the validated `train` config.
        path: the directory.
        resuming: whether a run saved there is to be continued.
    """

    cfg: DictConfig
    path: Path
    resuming: bool


def check_writable(path: Path, key: str) -> None:
    """Makes `path` (and its parents) and checks that a file can be written there.

    Raises:
        ConfigError: naming `key` and the directory, if it cannot be written.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as error:
        raise ConfigError(
            key,
            str(path),
            f"cannot be written ({error.strerror or error}); allowed: a writable directory",
        ) from error


def saved_run(run_dir: Path) -> str | None:
    """The first file that shows `run_dir` already holds a run, or None."""
    for name in RUN_FILES:
        if (run_dir / name).exists():
            return name
    return None


def _flat(cfg: DictConfig) -> dict:
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = value

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return flat


def check_same_config(saved: DictConfig, cfg: DictConfig, run_dir: Path) -> None:
    """Refuses to resume a run with a config other than the one it started with.

    Raises:
        UserError: naming the first key that differs and both values.
    """
    before, now = _flat(saved), _flat(cfg)
    for key in sorted(set(before) | set(now)):
        if key in RESUME_MAY_CHANGE:
            continue
        if before.get(key) != now.get(key):
            raise UserError(
                f"trainer.resume=true: the run in {run_dir} was started with "
                f"{key}={before.get(key)!r}, not {now.get(key)!r}; resume it with the same config"
            )


def _resuming(cfg: DictConfig, run_dir: Path) -> bool:
    """Whether to continue a run saved in `run_dir`; refuses what cannot be done."""
    found = saved_run(run_dir)
    if found is None:
        if cfg.trainer.resume:
            log.warning("trainer.resume=true, but %s holds no run yet: starting one", run_dir)
            check_parents(cfg)  # validation left them to a run that starts
        return False
    if not cfg.trainer.resume:
        raise UserError(
            f"hydra.run.dir={str(run_dir)!r} already holds a run ({found}); pass "
            "trainer.resume=true to continue it, or choose another directory"
        )
    saved = run_dir / CONFIG_FILE
    try:
        saved_cfg = upgraded(OmegaConf.load(saved))
    except FileNotFoundError:
        raise UserError(
            f"trainer.resume=true: {saved} is missing, so the run's config cannot be checked "
            "against this one; choose another directory"
        ) from None
    except Exception as error:  # noqa: BLE001 - YAML and OmegaConf each raise their own kind
        raise UserError(
            f"trainer.resume=true: {saved} is damaged ({error}); choose another directory"
        ) from None
    check_same_config(saved_cfg, cfg, run_dir)
    _check_same_data(run_dir)
    return True


def _check_same_data(run_dir: Path) -> None:
    """Refuses to resume on a file of pairs that changed since the run started.

    Raises:
        UserError: naming the file.
    """
    try:
        record = json.loads((run_dir / DATA_RECORD).read_text())
    except (OSError, ValueError):
        return  # no record yet: the run stopped before reading its data
    if not isinstance(record, dict):
        return
    files = record.get("files") or (
        {"train": record} if "sha256" in record and "path" in record else {}
    )
    for file in files.values():
        path = Path(file["path"])
        now = file_sha256(path) if path.is_file() else None
        if now != file["sha256"]:
            change = (
                "is gone" if now is None else "changed since the run started (its SHA-256 differs)"
            )
            raise UserError(
                f"trainer.resume=true: {path} {change}; resuming needs the data the run started "
                "with: restore the file, or start a new run in another directory"
            )


@contextlib.contextmanager
def open_run(cfg: DictConfig, run_dir: Path) -> Iterator[RunDirectory]:
    """Validates the config and checks the run and data directories, before anything is written.

    Args:
        cfg: the composed `train` config.
        run_dir: this run's directory.

    Yields:
        The run directory, ready for training.

    Raises:
        ConfigError: for a config value that is not allowed, or a directory that
            cannot be written.
        UserError: if another process runs in `run_dir`, if it holds a run and
            `trainer.resume` is false, or holds a run with another config.
    """
    cfg = with_task_defaults(cfg)
    validate(cfg)
    run_dir = Path(run_dir)
    check_writable(run_dir, "hydra.run.dir")
    check_writable(Path(cfg.data_dir), "data_dir")
    # Under multi_worker every worker runs in the same directory; the chief writes.
    if not is_chief_process(cfg):
        yield RunDirectory(cfg=cfg, path=run_dir, resuming=_resuming(cfg, run_dir))
        return
    with run_lock(run_dir) as claim:
        resuming = _resuming(cfg, run_dir)
        claim()
        yield RunDirectory(cfg=cfg, path=run_dir, resuming=resuming)


def is_chief_process(cfg: DictConfig) -> bool:
    """Whether this process writes the run's files: always, but under multi_worker, where
    only the chief does (task `chief`, or worker 0 when the cluster has no chief)."""
    if cfg.trainer.strategy != "multi_worker":
        return True
    try:
        tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
        task, cluster = tf_config.get("task", {}), tf_config.get("cluster", {})
    except (json.JSONDecodeError, AttributeError):
        return True  # refused with its own message when the strategy is made
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index") == 0 and "chief" not in cluster


def write_overrides(run_dir: Path) -> None:
    """Records the command line's overrides as `overrides.yaml` (Hydra's `.hydra/` is off,
    so that a refused second run cannot overwrite an earlier run's record)."""
    if HydraConfig.initialized():
        overrides = list(HydraConfig.get().overrides.task)
        atomic_write_text(run_dir / OVERRIDES_FILE, OmegaConf.to_yaml(overrides))
