"""Checks of the `decoding` group of `evaluate` and `predict` against the run they name:
each key within what the chosen strategy and the run's vocabulary allow."""

import json
from pathlib import Path

from omegaconf import DictConfig

from seq2seq.base.errors import ConfigError
from seq2seq.base.names import VOCAB_FILE
from seq2seq.base.tokens import FIRST_SYMBOL_ID
from seq2seq.config.command_schema import STRATEGY_KEYS, DecodingConfig


def check_decoding(cfg: DictConfig) -> None:
    """Checks `cfg.decoding` of an `evaluate` or `predict` config naming `cfg.run_dir`.

    Raises:
        ConfigError: naming the first decoding key whose value cannot work.
    """
    symbols = target_symbols(cfg.run_dir)
    if symbols is not None:
        check_top_k(cfg.decoding, symbols + FIRST_SYMBOL_ID)
        check_min_len(cfg.decoding, symbols)
    # n_best > 1 (beam): predict's K best, evaluate's oracle exact-match beside the best's.
    check_n_best(cfg.decoding)
    check_strategy_keys(cfg.decoding)


def target_symbols(run_dir: str) -> int | None:
    """How many symbols the run's target vocabulary holds (PAD, BOS and EOS not counted),
    shared with the source (`vocab.json` is one vocabulary) or its own (`target`).

    Args:
        run_dir: a finished run's directory.

    Returns:
        The count, or None for a damaged `vocab.json` (refused when the run is loaded).
    """
    try:
        saved = json.loads((Path(run_dir) / VOCAB_FILE).read_text())
        return len(saved["target"]["symbols"] if "target" in saved else saved["symbols"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_top_k(decoding: DictConfig, size: int) -> None:
    """Refuses sampling among more tokens than the run's target vocabulary has.

    Args:
        decoding: the `decoding` group.
        size: the target vocabulary's tokens, PAD, BOS and EOS included: the logits' width.

    Raises:
        ConfigError: naming decoding.top_k and the vocabulary's size.
    """
    if decoding.top_k > size:
        raise ConfigError(
            "decoding.top_k",
            decoding.top_k,
            f"the run's target vocabulary has {size} tokens; allowed: 0 (all) to {size}",
        )


def longest_without_repeats(symbols: int, n: int, enough: int) -> int:
    """The most tokens a hypothesis of `symbols` symbols holds without an n-gram twice:
    each symbol once for n = 1, a de Bruijn sequence's `symbols ** n + n - 1` for n > 1.

    Args:
        symbols: the target vocabulary's symbols.
        n: `no_repeat_ngram_size`, >= 1.
        enough: a length past which the exact figure does not matter.

    Returns:
        The length, or `enough` where it is at least that (the power passes any `enough`
        within its bit length of steps, however large n is).
    """
    if n == 1:
        return symbols
    power = 1
    for _ in range(n if symbols > 1 else 0):
        power *= symbols
        if power + n - 1 >= enough:
            return enough
    return power + n - 1


def check_min_len(decoding: DictConfig, symbols: int) -> None:
    """Refuses a `decoding.min_tokens` that `no_repeat_ngram_size` leaves no hypothesis able to reach.

    A hypothesis that runs out of symbols on its way ends with EOS there, before `min_tokens`
    (`seq2seq.decoding.token_rules.apply_rules`); this refuses the settings under which
    every hypothesis would.

    Args:
        decoding: the `decoding` group.
        symbols: the target vocabulary's symbols.

    Raises:
        ConfigError: naming decoding.min_tokens and the longest hypothesis possible.
    """
    n = decoding.no_repeat_ngram_size
    if not n:
        return
    longest = longest_without_repeats(symbols, n, decoding.min_tokens)
    if decoding.min_tokens > longest:
        raise ConfigError(
            "decoding.min_tokens", decoding.min_tokens,
            f"with decoding.no_repeat_ngram_size={n} the run's {symbols} target symbols make "
            f"hypotheses of at most {longest} tokens; allowed: 0 to {longest}, or a larger "
            "decoding.no_repeat_ngram_size",
        )  # fmt: skip


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
    default, and a `min_tokens` that leaves `max_tokens` no room for EOS.

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
    if decoding.max_tokens is not None and decoding.min_tokens >= decoding.max_tokens:
        raise ConfigError(
            "decoding.min_tokens", decoding.min_tokens,
            f"decoding.max_tokens={decoding.max_tokens} leaves no room for EOS after it; allowed: 0 "
            f"to {decoding.max_tokens - 1}",
        )  # fmt: skip
