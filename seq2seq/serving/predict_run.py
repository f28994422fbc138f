"""Decodes inputs with a finished run (`seq2seq.predict` is the command)."""

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from seq2seq.base.errors import UserError
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.serving.command_output import print_summary, write_outputs
from seq2seq.serving.finished_run import load_ensemble, load_run
from seq2seq.serving.unknown_symbols import unknown_summary, unknown_warnings
from seq2seq.text.text_files import read_lines
from seq2seq.text.text_rules import normalizer, run_normalization
from seq2seq.text.vocabulary import EOS_ID, Vocabulary


def parse_inputs(
    lines: Sequence[str],
    vocab: Vocabulary,
    max_len: int,
    source: str,
    on_unknown: str = "warn",
    unknown: dict | None = None,
) -> list[list[int]]:
    """Input lines to token ids, refusing anything the model cannot take.

    Args:
        lines: one sequence per line, in the vocabulary's tokenizer (symbols separated
            by spaces, or one character each).
        vocab: the run's source vocabulary.
        max_len: the longest sequence accepted.
        source: where the lines come from (`input` or a file name), for messages.
        on_unknown: for a vocabulary with `<unk>`, what a symbol it lacks does: `warn`
            (it reads as `<unk>`, and is listed in `unknown`) or `error`.
        unknown: filled with `{line number: [symbols the vocabulary lacks]}`.

    Returns:
        One list of token ids per line.

    Raises:
        UserError: naming the line, the position and the token, and what is allowed.
    """
    sequences = []
    known = set(vocab.symbols)
    how = vocab.splitter.input_words
    for number, line in enumerate(lines, start=1):
        symbols = vocab.split(line)
        where = f"{source} line {number}"
        if not symbols:
            raise UserError(f"{where} is empty; allowed: symbols {how}")
        for position, symbol in enumerate(symbols, start=1):
            # A vocabulary built from data reads unseen symbols as <unk>.
            if symbol not in known and vocab.unknown_id is None:
                raise UserError(
                    f"{where}, position {position}: {symbol!r} is not a symbol of the "
                    f"vocabulary; allowed: {vocab.describe()}"
                )
            if symbol not in known and on_unknown == "error":
                raise UserError(
                    f"{where}, position {position}: {symbol!r} is not a symbol of the "
                    f"vocabulary (it would read as <unk>); allowed: {vocab.describe()}, or "
                    "on_unknown=warn to decode it anyway"
                )
        missing = [symbol for symbol in symbols if symbol not in known]
        if missing and unknown is not None:
            unknown[number] = missing
        if len(symbols) > max_len:
            raise UserError(
                f"{where} has {len(symbols)} symbols; the model takes at most {max_len} (its "
                f"training lengths); pass max_input_symbols={len(symbols)} to decode it anyway"
            )
        sequences.append(vocab.encode(symbols))
    return sequences


#: How many truncated input lines the summary names.
SHOWN = 5


def truncation_summary(outputs: list, sequences: list, bound, source: str) -> list[str]:
    """What predict's summary says of outputs cut short by the length bound: nothing when
    none was, else one line with their count and the first few input lines.

    Args:
        outputs: what `predict` returned.
        sequences: the sources' token ids, to say each one's bound.
        bound: the length bound decoded to.
        source: where the inputs come from (`input` or a file name).

    Returns:
        The summary's lines about truncation (none or one).
    """
    cut = [
        number
        for number, hypotheses in enumerate(outputs, 1)
        for ids, _ in hypotheses
        if EOS_ID not in ids
    ]
    if not cut:
        return []
    total = sum(len(hypotheses) for hypotheses in outputs)
    kind = "outputs" if total == len(outputs) else "hypotheses"
    lines = list(dict.fromkeys(cut))  # an input's n-best hypotheses share its line
    limits = bound.rows([len(sequences[n - 1]) for n in lines[:SHOWN]])
    shown = ", ".join(f"line {n} ({b} tokens)" for n, b in zip(lines[:SHOWN], limits.tolist()))
    more = f" and {len(lines) - SHOWN} more lines" if len(lines) > SHOWN else ""
    return [
        f"warning: {len(cut)} of {total} {kind} reached the length bound without ending and "
        f"are cut short: {source} {shown}{more}; decoding.max_tokens=N decodes up to N tokens"
    ]


def format_outputs(outputs: list, vocab, n_best: int) -> str:
    """The text `predict` writes: one detokenized output per line, or with `n_best` > 1 a
    TSV line per hypothesis: input number (from 1), rank (from 1), log-probability, text."""
    if n_best == 1:
        return "".join(vocab.decode_text(hypotheses[0][0]) + "\n" for hypotheses in outputs)
    return "".join(
        f"{number}\t{rank}\t{score:.4f}\t{vocab.decode_text(ids)}\n"
        for number, hypotheses in enumerate(outputs, 1)
        for rank, (ids, score) in enumerate(hypotheses, 1)
    )


def _input_lines(cfg) -> tuple:
    """The input's lines and where they come from; a file is read as people have them
    (byte order mark, CRLF, only LF ends a line: see `seq2seq.text.text_files`)."""
    if cfg.input is not None:
        return cfg.input.split("\n") or [""], "input"
    lines = [text for _, text in read_lines(cfg.input_file, key="input_file")]
    return lines, str(Path(cfg.input_file))


def work(cfg: DictConfig, run_cfg) -> None:
    """The command, once its config is known good (`seq2seq.cli.command`).

    Args:
        cfg: the composed, validated `predict` config.
        run_cfg: what `validate_predict` returned.
    """
    lines, source = _input_lines(cfg)
    run = load_run(cfg.run_dir)
    model = load_ensemble(run, cfg.ensemble) if cfg.ensemble else run.model
    max_input_symbols = (
        cfg.max_input_symbols or run.vocabs.source.max_source_len or run_cfg.task.max_source_symbols
    )
    unknown = {}
    normalized = normalizer(run_normalization(run.config.task))
    sequences = parse_inputs(
        [normalized(line) for line in lines],
        run.vocabs.source, max_input_symbols, source, cfg.on_unknown, unknown,
    )  # fmt: skip
    print_summary(unknown_warnings(unknown, source))
    bound = run.decoding_bound(cfg.decoding.max_tokens)
    outputs = decode_sequences(model, sequences, cfg.decoding, cfg.batch_size, bound)
    print_summary(
        truncation_summary(outputs, sequences, bound, source)
        + unknown_summary(unknown, len(sequences))
    )
    text = format_outputs(outputs, run.vocabs.target, cfg.decoding.n_best)
    write_outputs(cfg.output_file, text)
