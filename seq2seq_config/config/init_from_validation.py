"""Checks of `trainer.init_from` (fine-tuning from a finished run), before TensorFlow loads."""

from omegaconf import DictConfig

from seq2seq_config.cli.errors import ConfigError
from seq2seq_config.config.command_validation import finished_run_config

#: Model keys a fine-tuned run may change: they make no weight.
FREE_MODEL_KEYS = ("dropout",)


def check_init_from(cfg: DictConfig) -> None:
    """`trainer.init_from` names a finished run of the same model; freezing needs it.

    Raises:
        ConfigError: naming the key, for a directory that is no finished run, a parent
            whose model differs in a key that shapes the weights, or freezing without
            a parent.
    """
    trainer = cfg.trainer
    if trainer.init_from is None:
        for key in ("freeze_embeddings", "freeze_encoder"):
            if trainer[key]:
                raise ConfigError(
                    f"trainer.{key}", True,
                    "needs trainer.init_from=RUN_DIR: frozen weights would stay as initialized",
                )  # fmt: skip
        return
    parent = finished_run_config("trainer.init_from", trainer.init_from)
    for key, value in cfg.model.items():
        theirs = parent.model.get(key)
        if key not in FREE_MODEL_KEYS and theirs != value:
            raise ConfigError(
                "trainer.init_from", trainer.init_from,
                f"its model.{key}={theirs} differs from this run's model.{key}={value}; "
                f"allowed: a run of the same model (only model.{', '.join(FREE_MODEL_KEYS)} may differ)",
            )  # fmt: skip
