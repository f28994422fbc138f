"""Checks of the `decoding` group of `evaluate` and `predict` against the run they name:
each key within what the chosen strategy and the run's vocabulary allow."""

import json
from pathlib import Path

from omegaconf import DictConfig

from seq2seq_config.cli.errors import ConfigError
from seq2seq_config.config.command_schema import STRATEGY_KEYS, DecodingConfig
from seq2seq_config.run.names import VOCAB_FILE
from seq2seq_config.tokens import FIRST_SYMBOL_ID


def check_decoding(cfg: DictConfig) -> None:
    """Checks `cfg.decoding` of an `evaluate` or `predict` config naming `cfg.run_dir`.

    Raises:
        ConfigError: naming the first decoding key whose value cannot work.
    """
    check_top_k(cfg)
    # n_best > 1 (beam): predict's K best, evaluate's oracle exact-match beside the best's.
    check_n_best(cfg.decoding)
    check_strategy_keys(cfg.decoding)


def check_top_k(cfg: DictConfig) -> None:
    """Refuses sampling among more tokens than the run's vocabulary has.

    Raises:
        ConfigError: naming decoding.top_k and the vocabulary's size.
    """
    vocab_path = Path(cfg.run_dir) / VOCAB_FILE
    try:
        # The symbols, after PAD, BOS and EOS.
        size = len(json.loads(vocab_path.read_text())["symbols"]) + FIRST_SYMBOL_ID
    except (OSError, ValueError, KeyError, TypeError):
        return  # a damaged vocabulary is refused when the run is loaded
    if cfg.decoding.top_k > size:
        raise ConfigError(
            "decoding.top_k",
            cfg.decoding.top_k,
            f"the run's vocabulary has {size} tokens; allowed: 0 (all) to {size}",
        )


def check_n_best(decoding: DictConfig) -> None:
    """n-best lists come from beam search, at most one hypothesis per beam.

    Raises:
        ConfigError: naming decoding.n_best.
    """
    if decoding.n_best == 1:
        return
    if decoding.strategy != "beam":
        raise ConfigError(
            "decoding.n_best",
            decoding.n_best,
            f"decoding={decoding.strategy} gives one hypothesis; allowed: 1, or decoding=beam",
        )
    if decoding.n_best > decoding.beam_size:
        raise ConfigError(
            "decoding.n_best", decoding.n_best,
            f"the beam keeps {decoding.beam_size} hypotheses; allowed: 1 to decoding.beam_size ({decoding.beam_size})",
        )  # fmt: skip


def check_strategy_keys(decoding: DictConfig) -> None:
    """Refuses a key the chosen strategy does not read (`STRATEGY_KEYS`) set away from its
    default, and a `min_len` that leaves `max_len` no room for EOS.

    Raises:
        ConfigError: naming the key.
    """
    defaults = DecodingConfig()
    for key, strategies in STRATEGY_KEYS.items():
        default = getattr(defaults, key)
        if decoding.strategy not in strategies and decoding[key] != default:
            allowed = " or ".join(f"decoding={name}" for name in strategies)
            raise ConfigError(
                f"decoding.{key}", decoding[key],
                f"decoding={decoding.strategy} does not read it; allowed: {default:g}, or {allowed}",
            )  # fmt: skip
    if decoding.max_len is not None and decoding.min_len >= decoding.max_len:
        raise ConfigError(
            "decoding.min_len", decoding.min_len,
            f"decoding.max_len={decoding.max_len} leaves no room for EOS after it; allowed: 0 "
            f"to {decoding.max_len - 1}",
        )  # fmt: skip
