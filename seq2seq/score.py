"""`python -m seq2seq.score run_dir=DIR input_file=pairs.tsv`: how likely a finished run's
model finds given pairs.

Each `source<TAB>target` line of `input_file` (read as `eval.file` is, in the run's
tokenizers: `seq2seq.text.text_files.read_pairs`) is scored teacher-forced: the
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

from seq2seq.cli.command import run_command
from seq2seq.cli.commands import SCORE
from seq2seq.cli.imports import command_process


def main(argv: list[str] | None = None) -> int:
    """The command line: `score` after its config and run directory are checked,
    before TensorFlow loads (`seq2seq.cli.command.run_command`)."""
    return run_command(SCORE, argv)


if __name__ == "__main__":
    command_process()
    sys.exit(main())
