"""`python -m seq2seq.evaluate run_dir=DIR [key=value ...]`: measure a finished run.

Reports, for one split (`split=val|test`, default test): loss, token accuracy,
exact-match, error rate, BLEU, chrF and the outputs cut short by the length bound, also
for each target length; and length generalization on a split generated with lengths
beyond the training range (`eval.min_source_symbols`, `eval.max_source_symbols`, by default the run's
task.max_source_symbols + 1 .. + 5). Decodes greedily unless `decoding=beam` or `decoding=sample`
(and their keys) say otherwise, each source up to the run's length bound
(`decoding.max_tokens=N`: N tokens), as `predict` does; `decoding=beam decoding.n_best=K`
adds `oracle_exact_match`, the share of sources where any of the K best hypotheses is
one of the references (`seq2seq.evaluation.oracle`).

For a run on a file of pairs, the split is the one the run held out and saved
(`held_out/`), whatever became of the file since; `eval.file=PATH` evaluates another
file's pairs instead, explicitly.

`ensemble=[DIR2,DIR3]` measures run_dir's model and those runs' decoding together, their
log-probabilities averaged at each step (`seq2seq.decoding.ensemble`), on run_dir's
split, to run_dir's length bound; the report names the members and has a file of its own.

Prints a table, writes `DIR/evaluation/<what was measured>.json` (see
`seq2seq.evaluation.report`) and beside it `<what was measured>.examples.tsv`, each
example of the split with its output and errors (`seq2seq.evaluation.examples`), and logs
the figures to the run's TensorBoard (`DIR/tensorboard/evaluation`).
"""

import sys

from seq2seq.cli.command import run_command
from seq2seq.cli.commands import EVALUATE
from seq2seq.cli.imports import command_process


def main(argv: list[str] | None = None) -> int:
    """The command line: `evaluate` after its config and run directory are checked,
    before TensorFlow loads (`seq2seq.cli.command.run_command`)."""
    return run_command(EVALUATE, argv)


if __name__ == "__main__":
    command_process()
    sys.exit(main())
