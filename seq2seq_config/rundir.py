"""The run directory: checked before training starts, never overwritten, resumable.

A run directory holds one run. Starting a run where another one already saved
something is refused, unless `trainer.resume=true` asks to continue that run, with the
same config. Unwritable directories are reported before TensorFlow is even imported.
"""

import logging
import os
import tempfile
from pathlib import Path
from typing import Optional

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from seq2seq_config.errors import ConfigError, UserError

log = logging.getLogger(__name__)

#: Files that mark a directory as holding a run of train.py, first found is named.
RUN_FILES = ("config.yaml", "checkpoints/latest.json", "metrics.json", "model.keras")
#: Keys a resumed run may change: how it is started, not what it computes.
RESUME_MAY_CHANGE = ("trainer.resume",)


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
            key, str(path), f"cannot be written ({error.strerror or error}); allowed: a writable directory"
        ) from error


def saved_run(run_dir: Path) -> Optional[str]:
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


def prepare_run_dir(cfg: DictConfig, run_dir: Path) -> bool:
    """Checks the run and data directories before anything is written.

    Args:
        cfg: the validated `train` config.
        run_dir: this run's directory.

    Returns:
        Whether a run saved in `run_dir` is to be resumed.

    Raises:
        ConfigError: if a directory cannot be written.
        UserError: if `run_dir` holds a run and `trainer.resume` is false, or holds a
            run with another config.
    """
    check_writable(run_dir, "hydra.run.dir")
    check_writable(Path(cfg.data_dir), "data_dir")
    found = saved_run(run_dir)
    if found is None:
        if cfg.trainer.resume:
            log.warning("trainer.resume=true, but %s holds no run yet: starting one", run_dir)
        return False
    if not cfg.trainer.resume:
        raise UserError(
            f"hydra.run.dir={str(run_dir)!r} already holds a run ({found}); pass "
            "trainer.resume=true to continue it, or choose another directory"
        )
    if (run_dir / "config.yaml").exists():
        check_same_config(OmegaConf.load(run_dir / "config.yaml"), cfg, run_dir)
    return True


def atomic_write_text(path: Path, text: str) -> None:
    """Writes a file so that it is either the old one or the whole new one, never half.

    A temporary file in the same directory, flushed to disk, then renamed over `path`.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_overrides(run_dir: Path) -> None:
    """Records the command line's overrides as `overrides.yaml` (Hydra's `.hydra/` is off,
    so that a refused second run cannot overwrite an earlier run's record)."""
    if HydraConfig.initialized():
        overrides = list(HydraConfig.get().overrides.task)
        atomic_write_text(run_dir / "overrides.yaml", OmegaConf.to_yaml(overrides))
