"""Composing configs from Python, as `train.py` does from the command line."""

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from seq2seq.config.renamed import renamed_overrides
from seq2seq.config.schema import register_configs
from seq2seq.config.shipped import CONFIG_DIR
from seq2seq.config.task_defaults import with_task_defaults

__all__ = ["CONFIG_DIR", "compose_config"]


def compose_config(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
    """Composes a config the way `python train.py OVERRIDES...` would.

    Args:
        overrides: command-line style overrides, e.g. `["model.units=64"]`.
        config_name: the primary config under `configs/`.

    Returns:
        The composed config (without Hydra's own `hydra` node); a `train` config with the
        keys whose null means "as suits the task" filled in (`task_defaults`).

    Raises:
        hydra.errors.ConfigCompositionException: for an unknown key, a value of the
            wrong type or a missing option; `describe` turns it into one line.
    """
    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=renamed_overrides(overrides))
    return with_task_defaults(cfg) if config_name == "train" else cfg
