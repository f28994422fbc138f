"""`python -m seq2seq.score run_dir=DIR input_file=pairs.tsv`: how likely a finished run's
model finds given pairs.

Each `source<TAB>target` line of `input_file` (read as `eval.file` is, in the run's
tokenizers: `seq2seq_config.task.text_files.read_pairs`) is scored teacher-forced: the
target's log-probability given the source, EOS included (`seq2seq.evaluation.scoring`).
Writes a TSV line per pair, in input order, to stdout or `output_file=PATH` (atomically):
source (normalized as the run's `task.normalize` says), target (as read), log-probability,
the target tokens scored (EOS included), and with `per_token=true` each token's
log-probability, space-separated. For reranking hypotheses, filtering noisy pairs and
finding errors in a dictionary.

A symbol the run's vocabulary lacks follows predict's policy: a vocabulary built from
data reads it as `<unk>` and scores that (a warning names the pair; `on_unknown=error`
refuses it), one without `<unk>` refuses it in one line.
"""

import sys
from pathlib import Path

from seq2seq.data.vocabulary import Vocabulary
from seq2seq.evaluation.scoring import score_pairs
from seq2seq.serving.command_output import print_summary, write_outputs
from seq2seq.serving.finished_run import load_run
from seq2seq.serving.unknown_symbols import unknown_summary, unknown_warnings
from seq2seq_config import UserError, compose_config, exit_on_user_error
from seq2seq_config.cli.errors import ConfigError
from seq2seq_config.cli.runner import stop_on_sigterm
from seq2seq_config.config.command_validation import validate_score
from seq2seq_config.task.text_files import read_pairs
from seq2seq_config.task.text_rules import run_normalization
from seq2seq_config.version import exit_if_version


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
    tokenizers = (vocabs.source.tokenizer, vocabs.target.tokenizer)
    read = read_pairs(
        cfg.input_file, tokenizers, "error", key="input_file", header=cfg.header,
        header_key="header", normalize=normalize,
    )  # fmt: skip
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


def main(argv: list[str] | None = None) -> int:
    """The command line: writes each pair's teacher-forced log-probability."""
    argv = sys.argv[1:] if argv is None else argv
    exit_if_version(argv)
    stop_on_sigterm()
    with exit_on_user_error():
        cfg = compose_config(argv, config_name="score")
        validate_score(cfg)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
