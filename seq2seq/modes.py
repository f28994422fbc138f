"""`python -m seq2seq.modes`: the four LSTM output modes on the seed notebooks' example.

One sample `[0.1, 0.2, 0.3]`: 3 time steps, 1 feature, an LSTM of 1 unit. The four
layers share one set of (random) weights, so their outputs can be compared; the values
show shapes and identities, not numbers to reproduce. Then it checks the identities the
framework relies on and says which hold; the exit status is 1 if any does not
(`seq2seq.model.modes` holds the work).
"""

import sys

from seq2seq.cli.commands import run_modes
from seq2seq.cli.imports import command_process


def main(argv: list[str] | None = None) -> int:
    """The command line: `--seed`, `--version`, `--help`, then the modes
    (`seq2seq.cli.commands.run_modes`)."""
    return run_modes(argv)


if __name__ == "__main__":
    command_process()
    sys.exit(main())
