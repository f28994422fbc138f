"""Keys whose null means "as suits the task": a generated toy task trains for a few epochs,
a file of pairs until early stopping finds its plateau, with batches grouped by length.

Filled in when a config is composed and again when a run opens its directory, so that the
run's `config.yaml` holds the values it used and a resume compares like with like.
"""

from omegaconf import DictConfig, OmegaConf

#: What null means for a generated task and for files of pairs.
DEFAULTS = {
    "trainer.epochs": (3, 100),
    "trainer.early_stopping.monitor": ("off", "val/token_error_rate"),
    "trainer.group_by_length": (False, True),
}


def with_task_defaults(cfg: DictConfig) -> DictConfig:
    """A copy of the `train` config with every null key of `DEFAULTS` filled in for its task."""
    cfg = cfg.copy()
    files = cfg.task.name == "tsv"
    for key, values in DEFAULTS.items():
        if OmegaConf.select(cfg, key) is None:
            OmegaConf.update(cfg, key, values[files], merge=False)
    return cfg
