"""The training command: `seq2seq-train key=value ...`, or `python train.py key=value ...`
in a checkout (see README.md).

It lives in this TensorFlow-free package so that the config is composed and checked
before TensorFlow is imported: a mistake is reported in well under a second. In a sweep
(`-m`), a job that fails is recorded and the sweep goes on. Hydra's own options work as
usual, `--config-dir DIR` among them: DIR's configs join the shipped ones, so a user's
`DIR/experiment/NAME.yaml` is `experiment=NAME` (Hydra searches the shipped configs first:
a shipped name is not replaced).
"""

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from seq2seq.cli.finished import finished_block
from seq2seq.cli.imports import import_work
from seq2seq.cli.runner import exit_on_user_error
from seq2seq.config.schema import register_configs
from seq2seq.config.shipped import CONFIG_DIR
from seq2seq.run.run_dir import is_chief_process, open_run
from seq2seq.run.sweep import run_sweep_job

log = logging.getLogger(__name__)

register_configs()


def run(cfg: DictConfig) -> float:
    """Checks the config and the run directory, then trains.

    Args:
        cfg: the composed `train` config.

    Returns:
        The metric `optimized_metric` names.

    Raises:
        seq2seq.UserError: for a config or run directory that cannot be used.
    """
    path = Path(HydraConfig.get().runtime.output_dir)
    with open_run(cfg, path) as opened:
        # Deferred until the config is known to be good: TensorFlow takes seconds to load.
        metrics = import_work("seq2seq.training.trainer").train_in(opened)
    if HydraConfig.get().mode != RunMode.MULTIRUN and is_chief_process(cfg):
        # A sweep's jobs end in its summary instead (`seq2seq.run.sweep`).
        _say_finished(cfg, path, metrics)
    split, name = cfg.optimized_metric.split("/")
    return metrics[split][name]


def _say_finished(cfg: DictConfig, path: Path, metrics: dict) -> None:
    """Logs where the finished run is, its figure and the commands that use it, to stdout
    and train.log (`metrics.json` keeps the figures for programs)."""
    from seq2seq.data.held_out import example_source  # noqa: PLC0415 - TensorFlow is loaded

    block = finished_block(
        path, metrics, cfg.optimized_metric, sys.argv[0], sys.argv[1:], example_source(path, cfg)
    )
    log.info("%s", block)


# The config path is absolute: the shipped configs, wherever the package is installed.
# Hydra names the job after this module, `train` (the log is `train.log`).
@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> object:
    """Hydra's entry point: one run, or one job of a sweep.

    Args:
        cfg: the config Hydra composed from the command line.

    Returns:
        What `run` returns (a sweep job's failure as a `FailedRun`).
    """
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return run_sweep_job(run, cfg)
    with exit_on_user_error():
        return run(cfg)
