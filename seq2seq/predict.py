"""`python -m seq2seq.predict run_dir=DIR input="3 1 4 1 5"`: decode with a finished run.

`input` holds one sequence per line; `input_file=PATH` reads one per line from a file.
Each line is text as the run's source tokenizer reads it: symbols separated by spaces
(`space`), every character a symbol (`char`, `input="quotation"`), or plain text
(`subword`), normalized first as the run's `task.normalize` says (as its training sources
were). Writes one detokenized output per input, in order, to stdout or
`output_file=PATH`; `decoding=beam decoding.n_best=K` writes the K best hypotheses of
each input instead, as TSV lines: input number, rank, log-probability, text.
`decoding=beam` or `decoding=sample` (and their keys) choose the strategy. Each input
decodes up to the run's length bound for its length (`length_bound.json`, fitted to the
training data; `decoding.max_tokens=N` sets N tokens instead); outputs that reach it without
ending are cut short, and a summary on stderr counts them and names their lines.
`ensemble=[DIR2,DIR3]` decodes with run_dir's model and those runs' together, averaging
their log-probabilities at each step; inputs are read, and outputs written, in run_dir's
vocabularies.

Bad input (a token that is not a symbol of the run's vocabulary, an empty sequence, a
sequence longer than the model takes) is refused with one line naming it.
"""

import sys

from seq2seq.cli.command import run_command
from seq2seq.cli.commands import PREDICT
from seq2seq.cli.imports import command_process


def main(argv: list[str] | None = None) -> int:
    """The command line: `predict` after its config and run directory are checked,
    before TensorFlow loads (`seq2seq.cli.command.run_command`)."""
    return run_command(PREDICT, argv)


if __name__ == "__main__":
    command_process()
    sys.exit(main())
