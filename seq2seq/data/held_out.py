"""The data a run pins: `data.json` (where its data came from, with checksums and
counts) and, for data read from files, its held-out pairs as text (`held_out/val.tsv`,
`held_out/test.tsv`).

Evaluation reads the held-out pairs back from the run, not from the file, which may
have changed since; resuming checks the file's checksum (`seq2seq.run.run_dir`).
"""

import itertools
import json
import re
from pathlib import Path

from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import DATA_RECORD, HELD_OUT_DIR
from seq2seq.data import tsv
from seq2seq.data.load import load_task_data
from seq2seq.data.splits import Split, TaskData
from seq2seq.text.text_files import PairFile
from seq2seq.text.vocabulary import Vocabularies

#: Text that a shell and Hydra both take as it is inside `input="'...'"`.
_PLAIN = re.compile(r"[^'\"\\$`!]*")


def save(run_dir: Path, task_data: TaskData, source: Path) -> None:
    """Writes data.json and, for data read from files, the held-out pairs.

    Args:
        run_dir: the run directory.
        task_data: the run's data.
        source: the generated dataset's cache file, or the file of pairs.
    """
    record = dict(task_data.record) or {"source": str(source)}
    atomic_write_text(run_dir / DATA_RECORD, json.dumps(record, indent=2) + "\n")
    if task_data.held_out_text is None:
        return
    (run_dir / HELD_OUT_DIR).mkdir(exist_ok=True)
    for split, pairs in task_data.held_out_text.items():
        lines = "".join(f"{source}\t{target}\n" for source, target in pairs)
        atomic_write_text(run_dir / HELD_OUT_DIR / f"{split}.tsv", lines)


def has_held_out(run_dir: Path) -> bool:
    """Whether the run saved its held-out pairs (runs of files of pairs do)."""
    return (run_dir / HELD_OUT_DIR).is_dir()


def load_split(run_dir: Path, split: str, vocabs: Vocabularies) -> Split:
    """One of the run's saved held-out splits, encoded with its vocabularies.

    Raises:
        UserError: if the saved file cannot be read.
    """
    # The run wrote it: every line is a pair, even one that reads like column names.
    path = run_dir / HELD_OUT_DIR / f"{split}.tsv"
    return tsv.load_pairs_file(
        PairFile(path, vocabs.tokenizers, key="run_dir", header=False), vocabs
    )


#: How many held-out sources `example_source` looks through for one that needs no escaping.
EXAMPLE_LINES = 100


def example_source(run_dir: Path, cfg) -> str | None:
    """One source as `predict` reads it, for the command a finished run suggests: the
    first held-out test source (validation's when the test split is empty) among the first
    `EXAMPLE_LINES` without quotes, backslashes or other characters the shell and Hydra
    would need escaped (CMUdict's first test word is `'course`), else the first.

    Args:
        run_dir: the finished run.
        cfg: its config (a generated task's data is read back from its cache).

    Returns:
        The source's text, or None when neither split holds one.
    """
    if has_held_out(run_dir):
        for split in ("test", "val"):
            with (run_dir / HELD_OUT_DIR / f"{split}.tsv").open(encoding="utf-8") as lines:
                sources = [
                    line.split("\t", 1)[0] for line in itertools.islice(lines, EXAMPLE_LINES)
                ]
            if sources:
                return next((s for s in sources if is_plain(s)), sources[0])
        return None
    task_data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    for split in (task_data.test, task_data.val):
        if len(split):
            return task_data.vocabs.source.decode_text(split.source_ids[0])
    return None


def is_plain(text: str) -> bool:
    """Whether a source goes into `input="'...'"` as it is, with nothing to escape for the
    shell or Hydra (no quotes, backslashes, `$`, backticks or `!`)."""
    return bool(_PLAIN.fullmatch(text))
