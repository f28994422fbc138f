"""Trains a seq2seq model: `python train.py key=value ...` (see README.md).

The config is composed and checked before TensorFlow is imported, so a mistake is
reported in well under a second. In a sweep (`-m`), a job that fails is recorded and
the sweep goes on.
"""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from seq2seq_config import exit_on_user_error, register_configs, run_cli
from seq2seq_config.run_dir import open_run
from seq2seq_config.sweep import run_sweep_job

register_configs()


def run(cfg: DictConfig) -> float:
    """Checks the config and the run directory, then trains; returns the metric
    `optimized_metric` names."""
    with open_run(cfg, Path(HydraConfig.get().runtime.output_dir)) as run_dir:
        # Deferred until the config is known to be good: TensorFlow takes seconds to load.
        from seq2seq.training.trainer import train_in  # noqa: PLC0415

        metrics = train_in(run_dir)
    split, name = cfg.optimized_metric.split("/")
    return metrics[split][name]


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> object:
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return run_sweep_job(run, cfg)
    with exit_on_user_error():
        return run(cfg)


if __name__ == "__main__":
    run_cli(main)
