"""Checks of `trainer.init_from` (fine-tuning from a finished run) and `task.vocab_from`
(another run's vocabularies), before TensorFlow loads.

Both keys name a parent run. Its existence is checked when a run starts; a resumed run
needs only its own directory (its vocabularies, length bound and checkpoint are there),
so a parent is checked (`check_parents`) only for a run that does not continue one.
"""

from omegaconf import DictConfig, OmegaConf

from seq2seq.base.errors import ConfigError
from seq2seq.checks.command import finished_run_config
from seq2seq.config.schema import TrainerConfig
from seq2seq.text.pair_files import side_tokenizers

#: `trainer.fine_tuning_rate`'s default, the only value a run without a parent takes.
FINE_TUNING_RATE = TrainerConfig.fine_tuning_rate
#: Model keys a fine-tuned run may change: they make no weight.
FREE_MODEL_KEYS = ("dropout",)


def check_init_from(cfg: DictConfig) -> None:
    """What needs no parent on disk: freezing needs `trainer.init_from`, and `task.vocab_from`
    a file of pairs (a generated task's symbols are the task's numbers).

    Raises:
        ConfigError: naming the key.
    """
    trainer = cfg.trainer
    if trainer.init_from is None:
        for key in ("freeze_embeddings", "freeze_encoder"):
            if trainer[key]:
                raise ConfigError(
                    f"trainer.{key}", True,
                    "needs trainer.init_from=RUN_DIR: frozen weights would stay as initialized",
                )  # fmt: skip
        if trainer.fine_tuning_rate != FINE_TUNING_RATE:
            raise ConfigError(
                "trainer.fine_tuning_rate", trainer.fine_tuning_rate,
                "needs trainer.init_from=RUN_DIR: it scales a fine-tuned run's learning rate; "
                "set trainer.learning_rate instead",
            )  # fmt: skip
    if cfg.task.get("vocab_from") is not None and cfg.task.name != "tsv":
        raise ConfigError(
            "task.vocab_from", cfg.task.vocab_from,
            f"only task=tsv reads another run's vocabularies (task={cfg.task.name} generates "
            "its symbols); allowed: null",
        )  # fmt: skip


def check_parents(cfg: DictConfig) -> None:
    """Each parent a run names is a finished run it can start from: `trainer.init_from` of
    the same model (only `model.dropout` may differ), and both parents of the same
    tokenizers and vocabulary layout (one per side, or shared).

    Raises:
        ConfigError: naming the key, for a directory that is no finished run, or a parent
            whose model or tokenizers differ.
    """
    trainer = cfg.trainer
    if trainer.init_from is not None:
        parent = finished_run_config("trainer.init_from", trainer.init_from)
        for key, value in cfg.model.items():
            theirs = parent.model.get(key)
            if key not in FREE_MODEL_KEYS and theirs != value:
                raise ConfigError(
                    "trainer.init_from", trainer.init_from,
                    f"its model.{key}={theirs} differs from this run's model.{key}={value}; "
                    f"allowed: a run of the same model (only model.{', '.join(FREE_MODEL_KEYS)} may differ)",
                )  # fmt: skip
        _check_same_text(cfg, "trainer.init_from", parent)
    if cfg.task.get("vocab_from") is not None:
        _check_same_text(
            cfg, "task.vocab_from", finished_run_config("task.vocab_from", cfg.task.vocab_from)
        )


def _check_same_text(cfg: DictConfig, key: str, parent: DictConfig) -> None:
    """Refuses a parent whose text becomes symbols otherwise (tokenizers, normalization,
    vocabulary layout): its rows would be given to other symbols (a letter's row to a word)."""
    if parent.task.name != cfg.task.name and "tsv" in (parent.task.name, cfg.task.name):
        raise ConfigError(
            key, OmegaConf.select(cfg, key),
            f"its task={parent.task.name} differs from this run's task={cfg.task.name}; "
            "allowed: a run of the same kind of task",
        )  # fmt: skip
    if cfg.task.name != "tsv":
        return
    for side, theirs, mine in zip(
        ("source", "target"), side_tokenizers(parent.task), side_tokenizers(cfg.task)
    ):
        if theirs != mine:
            raise ConfigError(
                key, OmegaConf.select(cfg, key),
                f"its {side} tokenizer is {theirs}, this run's {mine}; allowed: a run whose "
                "text becomes symbols the same way (task.tokenizer, task.source_tokenizer, "
                "task.target_tokenizer)",
            )  # fmt: skip
    theirs = parent.task.get("normalize", "none")  # a run saved before the key: none
    if theirs != cfg.task.normalize:
        raise ConfigError(
            key, OmegaConf.select(cfg, key),
            f"its task.normalize={theirs} differs from this run's {cfg.task.normalize}; "
            "allowed: a run that normalizes its sources the same way",
        )  # fmt: skip
    if bool(parent.task.get("shared_vocab")) != bool(cfg.task.shared_vocab):
        raise ConfigError(
            key, OmegaConf.select(cfg, key),
            f"its task.shared_vocab={bool(parent.task.get('shared_vocab'))} differs from this "
            f"run's {cfg.task.shared_vocab}; allowed: the same vocabulary layout",
        )  # fmt: skip
