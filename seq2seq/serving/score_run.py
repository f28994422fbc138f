"""Scores pairs under a finished run's model (`seq2seq.score` is the command)."""

from pathlib import Path

from omegaconf import DictConfig

from seq2seq.base.errors import ConfigError, UserError
from seq2seq.evaluation.scoring import score_pairs
from seq2seq.serving.command_output import print_summary, write_outputs
from seq2seq.serving.finished_run import load_run
from seq2seq.serving.unknown_symbols import unknown_summary, unknown_warnings
from seq2seq.text.text_files import PairFile, read_pairs
from seq2seq.text.text_rules import run_normalization
from seq2seq.text.vocabulary import Vocabulary


def encode_side(
    text: str, vocab: Vocabulary, where: str, on_unknown: str, missing: list
) -> list[int]:
    """One side of a pair to token ids, with predict's policy for symbols the vocabulary
    lacks (`predict.parse_inputs`).

    Args:
        text: the side's text.
        vocab: the run's vocabulary for that side.
        where: `FILE line N, source` or `..., target`, for messages.
        on_unknown: `warn` (read as `<unk>`, added to `missing`) or `error`.
        missing: filled with the symbols the vocabulary lacks.

    Returns:
        The token ids, without BOS or EOS.

    Raises:
        UserError: naming the line, the side, the position and the symbol.
    """
    symbols = vocab.split(text)
    known = set(vocab.symbols)
    for position, symbol in enumerate(symbols, start=1):
        if symbol in known:
            continue
        if vocab.unknown_id is None:
            raise UserError(
                f"{where} position {position}: {symbol!r} is not a symbol of the vocabulary; "
                f"allowed: {vocab.describe()}"
            )
        if on_unknown == "error":
            raise UserError(
                f"{where} position {position}: {symbol!r} is not a symbol of the vocabulary "
                f"(it would read as <unk>); allowed: {vocab.describe()}, or on_unknown=warn "
                "to score it anyway"
            )
        missing.append(symbol)
    return vocab.encode(symbols)


def read_scored_pairs(
    cfg, vocabs, unknown: dict, normalize: str = "none"
) -> tuple[list, list, list]:
    """The pairs of `cfg.input_file`, as texts and as token ids.

    Args:
        cfg: a validated `score` config.
        vocabs: the run's vocabularies.
        unknown: filled with `{line number: [symbols the vocabularies lack]}`.
        normalize: the run's `task.normalize`, applied to each source as it is read.

    Returns:
        `(texts, sources, targets)`: `(source, target)` texts as read (the source
        normalized), and each side's ids.

    Raises:
        UserError: for an unreadable file, a bad line, or a symbol refused.
    """
    file = PairFile(
        cfg.input_file, vocabs.tokenizers, "error", "input_file", cfg.header, "header", normalize
    )
    read = read_pairs(file)
    name = str(Path(cfg.input_file))
    texts, sources, targets = [], [], []
    for number, source, target in read:
        missing = []
        where = f"{name} line {number},"
        sources.append(
            encode_side(source, vocabs.source, f"{where} source", cfg.on_unknown, missing)
        )
        targets.append(
            encode_side(target, vocabs.target, f"{where} target", cfg.on_unknown, missing)
        )
        if missing:
            unknown[number] = missing
        texts.append((source, target))
    if not texts:
        raise ConfigError(
            "input_file",
            cfg.input_file,
            "holds no pair; allowed: a file of source<TAB>target lines",
        )
    return texts, sources, targets


def format_scores(texts: list, scores: list, per_token: bool) -> str:
    """The TSV `score` writes: a line per pair, `source, target, log_prob, tokens`, and
    with `per_token` the tokens' log-probabilities, space-separated."""
    lines = []
    for (source, target), token_scores in zip(texts, scores):
        line = f"{source}\t{target}\t{float(token_scores.sum(dtype='float64')):.4f}\t{len(token_scores)}"
        if per_token:
            line += "\t" + " ".join(f"{float(score):.4f}" for score in token_scores)
        lines.append(line + "\n")
    return "".join(lines)


def work(cfg: DictConfig, _) -> None:
    """The command, once its config is known good (`seq2seq.cli.command`).

    Args:
        cfg: the composed, validated `score` config.
        _: what `validate_score` returned.
    """
    run = load_run(cfg.run_dir)
    unknown = {}
    normalize = run_normalization(run.config.task)
    texts, sources, targets = read_scored_pairs(cfg, run.vocabs, unknown, normalize)
    name = str(Path(cfg.input_file))
    print_summary(unknown_warnings(unknown, name))
    scores = score_pairs(run.model, sources, targets, cfg.batch_size)
    print_summary(unknown_summary(unknown, len(texts)))
    text = format_scores(texts, scores, cfg.per_token)
    write_outputs(cfg.output_file, text)
