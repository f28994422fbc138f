"""`python -m seq2seq.predict run_dir=DIR input="3 1 4 1 5"`: decode with a finished run.

`input` holds one sequence per line; `input_file=PATH` reads one per line from a file.
Each line is text as the run's source tokenizer reads it: symbols separated by spaces
(`space`), every character a symbol (`char`, `input="quotation"`), or plain text
(`subword`). Writes one detokenized output per input, in order, to stdout or
`output_file=PATH`; `decoding=beam decoding.n_best=K` writes the K best hypotheses of
each input instead, as TSV lines: input number, rank, log-probability, text.
`decoding=beam` or `decoding=sample` (and their keys) choose the strategy.

Bad input (a token that is not a symbol of the run's vocabulary, an empty sequence, a
sequence longer than the model takes) is refused with one line naming it.
"""

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from seq2seq.data.vocabulary import EOS_ID, PAD_ID, Vocabulary
from seq2seq.evaluation.decoding import decode, decode_n_best, decoding_options, default_max_len
from seq2seq.serving.finished_run import load_run
from seq2seq_config import UserError, compose_config, exit_on_user_error
from seq2seq_config.command_validation import validate_predict
from seq2seq_config.errors import stop_on_sigterm
from seq2seq_config.files import atomic_write_text
from seq2seq_config.text_files import read_lines


def parse_inputs(
    lines: Sequence[str], vocab: Vocabulary, max_len: int, source: str
) -> list[list[int]]:
    """Input lines to token ids, refusing anything the model cannot take.

    Args:
        lines: one sequence per line, in the vocabulary's tokenizer (symbols separated
            by spaces, or one character each).
        vocab: the run's source vocabulary.
        max_len: the longest sequence accepted.
        source: where the lines come from (`input` or a file name), for messages.

    Returns:
        One list of token ids per line.

    Raises:
        UserError: naming the line, the position and the token, and what is allowed.
    """
    sequences = []
    how = {"char": "one character each", "space": "separated by spaces", "subword": "as text"}[
        vocab.tokenizer
    ]
    for number, line in enumerate(lines, start=1):
        symbols = vocab.split(line)
        where = f"{source} line {number}"
        if not symbols:
            raise UserError(f"{where} is empty; allowed: symbols {how}")
        for position, symbol in enumerate(symbols, start=1):
            # A vocabulary built from data reads unseen symbols as <unk>.
            if symbol not in vocab.symbols and vocab.unknown_id is None:
                raise UserError(
                    f"{where}, position {position}: {symbol!r} is not a symbol of the "
                    f"vocabulary; allowed: {vocab.describe()}"
                )
        if len(symbols) > max_len:
            raise UserError(
                f"{where} has {len(symbols)} symbols; the model takes at most {max_len} (its "
                f"training lengths); pass max_input_len={len(symbols)} to decode it anyway"
            )
        sequences.append(vocab.encode(symbols))
    return sequences


def predict(model, sequences: list[list[int]], decoding_cfg, batch_size: int) -> list[list[tuple]]:
    """Decodes token-id sequences in batches, inside one compiled graph per batch shape.

    Returns:
        For each sequence, its `decoding.n_best` hypotheses, best first, as `(token ids,
        log-probability)`: the ids with EOS where one was emitted; the log-probability
        only where beam search gives it (None otherwise).
    """
    options = decoding_options(decoding_cfg)
    strategy, n_best = decoding_cfg.strategy, decoding_cfg.n_best

    @tf.function(reduce_retracing=True)
    def run(token_ids, max_len):
        if strategy == "beam" and n_best > 1:
            return decode_n_best(
                model, token_ids, max_len, options["beam_size"], options["alpha"], n_best
            )
        return decode(model, token_ids, max_len, strategy, **options)[:, None, :], tf.zeros([0, 0])

    outputs = []
    for start in range(0, len(sequences), batch_size):
        batch = sequences[start : start + batch_size]
        width = max(len(s) for s in batch)
        token_ids = np.full((len(batch), width), PAD_ID, np.int32)
        for row, sequence in enumerate(batch):
            token_ids[row, : len(sequence)] = sequence
        max_len = decoding_cfg.max_len or default_max_len(width)
        decoded, log_probs = (t.numpy() for t in run(tf.constant(token_ids), tf.constant(max_len)))
        for row, hypotheses in enumerate(decoded):
            scores = log_probs[row] if log_probs.size else [None] * len(hypotheses)
            outputs.append(
                [
                    (_cut_at_eos(h), None if p is None else float(p))
                    for h, p in zip(hypotheses, scores)
                ]
            )
    return outputs


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


def _cut_at_eos(row: np.ndarray) -> np.ndarray:
    ends = np.flatnonzero(row == EOS_ID)
    return row[: ends[0] + 1] if len(ends) else row


def _input_lines(cfg) -> tuple:
    """The input's lines and where they come from; a file is read as people have them
    (byte order mark, CRLF, only LF ends a line: see `seq2seq_config.text_files`)."""
    if cfg.input is not None:
        return cfg.input.split("\n") or [""], "input"
    lines = [text for _, text in read_lines(cfg.input_file, key="input_file")]
    return lines, str(Path(cfg.input_file))


def main(argv: list[str] | None = None) -> int:
    """The command line: writes one decoded output (or n-best lines) per input line."""
    stop_on_sigterm()
    with exit_on_user_error():
        cfg = compose_config(sys.argv[1:] if argv is None else argv, config_name="predict")
        run_cfg = validate_predict(cfg)
        lines, source = _input_lines(cfg)
        run = load_run(cfg.run_dir)
        max_input_len = (
            cfg.max_input_len or run.vocabs.source.max_source_len or run_cfg.task.max_len
        )
        sequences = parse_inputs(lines, run.vocabs.source, max_input_len, source)
        outputs = predict(run.model, sequences, cfg.decoding, cfg.batch_size)
        for number, hypotheses in enumerate(outputs, 1):
            if EOS_ID not in hypotheses[0][0]:
                length = len(hypotheses[0][0])
                print(
                    f"warning: {source} line {number}: no EOS within {length} tokens",
                    file=sys.stderr,
                )
        text = format_outputs(outputs, run.vocabs.target, cfg.decoding.n_best)
        if cfg.output_file is None:
            sys.stdout.write(text)
        else:
            atomic_write_text(cfg.output_file, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
