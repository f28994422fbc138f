"""Trains a seq2seq model: `python train.py key=value ...` (see README.md).

The config is composed and checked before TensorFlow is imported, so a mistake is
reported in well under a second.
"""

import hydra
from omegaconf import DictConfig

from seq2seq_config import exit_on_user_error, register_configs, run_cli, validate

register_configs()


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float:
    """Validates the config, then trains; returns the validation exact-match."""
    with exit_on_user_error():
        validate(cfg)
        import seq2seq  # noqa: PLC0415 - deferred until the config is known to be good

        return seq2seq.train(cfg)["val"]["exact_match"]


if __name__ == "__main__":
    run_cli(main)
