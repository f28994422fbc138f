"""Every example an evaluation measured, for error analysis: `evaluate` writes them beside
its report (`evaluation/NAME.json`) as `evaluation/NAME.examples.tsv`.

A header line, then one line per example of the split, in the split's order (one per
distinct source): its source (as the run read it, normalized as `task.normalize` says),
its reference (the first, the one the error rate and exact-match measure against), the
output (the text predict prints for it), errors (the edit distance between output and
reference in the error rate's unit: the target's symbols, or characters for `subword`)
and exact (1 where the output is the reference, else 0). Written with Python's `csv`
module: a field holding a tab, a quote or a line break is quoted, so that `csv.reader`
(`delimiter="\\t"`) and pandas' `read_csv(sep="\\t")` read back exactly what was written.
"""

import csv
import io
from pathlib import Path

from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import EVALUATION_EXAMPLES
from seq2seq.data.splits import Split
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.evaluation.text_metrics import edit_distances
from seq2seq.text.vocabulary import Vocabularies

#: The file's columns, its header line.
COLUMNS = ("source", "reference", "output", "errors", "exact")


def example_rows(split: Split, vocabs: Vocabularies, evaluator: Evaluator) -> list[tuple]:
    """The examples of the split `evaluator` measured last, one per row of `COLUMNS`.

    Args:
        split: the split the evaluator measured last.
        vocabs: the run's vocabularies (a source without its text is detokenized).
        evaluator: an evaluator with the target's vocabulary, called on `split`.

    Returns:
        `(source, reference, output, errors, exact)` per example, in split order.

    Raises:
        ValueError: if the evaluator measured no split, or one of another size, or has no
            target vocabulary to make text of its outputs.
    """
    if evaluator.last_outputs is None or len(evaluator.last_outputs[0]) != len(split):
        raise ValueError("example_rows needs the split the evaluator measured last")
    decoded, outputs = evaluator.last_outputs
    if outputs is None:
        raise ValueError("example_rows needs an evaluator with the target's vocabulary")
    rows = range(len(split))
    units, reference_units = evaluator.error_units(split, decoded, outputs, rows)
    errors = edit_distances(units, reference_units)
    references = [split.target_text(r, vocabs.target) for r in rows]
    return [
        (split.source_text(r, vocabs.source), references[r], outputs[r], int(errors[r]),
         int(outputs[r] == references[r]))
        for r in rows
    ]  # fmt: skip


def examples_path(report_path: Path) -> Path:
    """Where the examples of the report written to `report_path` go: beside it."""
    return report_path.with_name(f"{report_path.stem}.{EVALUATION_EXAMPLES}")


def write_examples(path: Path, rows: list[tuple]) -> None:
    """Writes the examples, a header line first, atomically.

    Args:
        path: the file (`examples_path`).
        rows: what `example_rows` returned.
    """
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())
