"""Which lines of a file of pairs train and which are held out, decided from the file's
scan (`seq2seq.text.file_scan`: per good line its number, a 64-bit hash of its
source and its lengths): the held-out sources, the repeats and the pairs too long.

Memory: about 24 bytes per line of the training file (its text is never held).
"""

import bisect
import itertools
from dataclasses import dataclass

import numpy as np

from seq2seq.base.errors import ConfigError, UserError
from seq2seq.text.file_scan import FileScan, key_hash, scan_file
from seq2seq.text.pair_files import (
    check_split_sizes,
    cut_sizes,
    held_out_files,
    task_file,
    training_files,
)
from seq2seq.text.text_files import PairFile, read_pairs


def texts_of_lines(file: PairFile, wanted: np.ndarray):
    """Yields `(line number, source, target)` of the good lines of `file` whose numbers are
    in `wanted` (read by the same rules as the pass that chose them)."""
    keep = np.zeros(int(wanted.max(initial=0)) + 1, bool)  # a flag per line number
    keep[wanted] = True
    for number, source, target in read_pairs(file):
        if number < len(keep) and keep[number]:
            yield number, source, target


def group_references(pairs) -> list:
    """Text pairs as `(source, (target, ...))`, one per distinct source in the order
    sources first appear, its targets in file order (the first one first)."""
    grouped: dict = {}
    for source, target in pairs:
        grouped.setdefault(source, []).append(target)
    return [(source, tuple(targets)) for source, targets in grouped.items()]


def read_held_out_file(file: PairFile) -> list:
    """Every good pair of a file of held-out pairs, as `(source, target)` texts, the
    sources normalized as `file.normalize` says (`text_files.read_pairs`).

    Raises:
        UserError: as `text_files.read_pairs`.
        ConfigError: for a file without a pair.
    """
    read = read_pairs(file)
    pairs = [(source, target) for _, source, target in read]
    if not pairs:
        raise ConfigError(
            file.key, str(file.path), "holds no pair; allowed: a file of source<TAB>target lines"
        )
    return pairs


def first_sources(pairs: list, limit: int | None, tokenizer: str) -> list:
    """The pairs of the first `limit` distinct sources of `pairs` (`task.held_out_limit`),
    in file order: a source kept keeps all its pairs, its references.

    Args:
        pairs: `(source, target)` texts, as `read_held_out_file` returns them.
        limit: how many distinct sources to keep; None: all.
        tokenizer: the source side's tokenizer, which says when two sources are one
            (`key_hash`).

    Returns:
        The pairs kept.
    """
    if limit is None:
        return pairs
    kept = set()
    for source, _ in pairs:
        if len(kept) == limit:
            break
        kept.add(key_hash(source, tokenizer))
    return [pair for pair in pairs if key_hash(pair[0], tokenizer) in kept]


@dataclass(frozen=True)
class TrainingFile:
    """One file to train on, as validation scanned it.

    Attributes:
        file: the file and its rules (its key, for errors: `task.train_path`,
            `task.train_paths[1]`).
        scan: its shape (`file_scan.scan_file`).
    """

    file: PairFile
    scan: FileScan

    @property
    def path(self):
        return self.file.path


def _joined(arrays: list) -> np.ndarray:
    """The arrays end to end; one array as it is (a copy would cost 8 bytes a line)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


class Rows:
    """The good lines of the training files end to end, as rows `0 .. n-1` in file order:
    each row's line number, source hash and lengths (`file_of` says its file)."""

    def __init__(self, files: list):
        scans = [file.scan for file in files]
        self.files = files
        self.lines = _joined([s.lines for s in scans])
        self.hashes = _joined([s.hashes for s in scans])
        self.lengths = [_joined([s.lengths[side] for s in scans]) for side in (0, 1)]
        self.offsets = [0, *itertools.accumulate(len(s.lines) for s in scans)]

    def file_of(self, row: int) -> int:
        """The index of the file row `row` comes from."""
        return bisect.bisect_right(self.offsets, row) - 1

    def __len__(self) -> int:
        return len(self.lines)

    def pairs(self, wanted: np.ndarray):
        """`(row, source, target)` of the rows `wanted`, file by file in row order, each
        file read by its own rules (`texts_of_lines`).

        Raises:
            UserError: for a file whose lines are no longer those its scan found.
        """
        wanted = np.asarray(wanted, np.int64)
        if len(wanted) > 1 and not (wanted[:-1] <= wanted[1:]).all():
            wanted = np.sort(wanted)  # a copy only where the order is not the file's
        for index, file in enumerate(self.files):
            start, stop = self.offsets[index], self.offsets[index + 1]
            # One file: every row is its own, and a masked copy would cost 8 bytes a row.
            one = len(self.files) == 1
            mine = wanted if one else wanted[(wanted >= start) & (wanted < stop)]
            if not len(mine):
                continue
            count, number = 0, None
            for row, (number, source, target) in zip(
                mine.tolist(), texts_of_lines(file.file, self.lines[mine])
            ):  # fmt: skip
                count += 1
                if self.lines[row] != number:
                    break
                yield row, source, target
            if count != len(mine) or self.lines[mine[count - 1]] != number:
                raise UserError(f"{file.path} changed while it was read; run again")

    def first_of_each_file(self) -> np.ndarray:
        """The rows that hold their source's first line within its own file."""
        firsts = [
            start + np.unique(self.hashes[start:stop], return_index=True)[1]
            for start, stop in zip(self.offsets[:-1], self.offsets[1:])
        ]
        return np.concatenate(firsts) if firsts else np.zeros(0, np.int64)


def _rows_of(rows: Rows, chosen: np.ndarray) -> np.ndarray:
    """Every row of the `chosen` sources (hashes), source by source in the order chosen,
    each source's rows in file order: a held-out source keeps all its targets."""
    rank = {int(h): i for i, h in enumerate(chosen.tolist())}
    found = np.flatnonzero(np.isin(rows.hashes, chosen))
    ranks = np.array([rank[int(h)] for h in rows.hashes[found].tolist()], np.int64)
    return found[np.argsort(ranks, kind="stable")]


def training_rows(task) -> Rows:
    """The rows of the task's training files, each scanned once in this process
    (`file_scan.scan_file`: validation's scans serve)."""
    files = [task_file(task, path, key) for key, path in training_files(task)]
    return Rows([TrainingFile(file, scan_file(file)) for file in files])


class SplitPlan:
    """The split's decisions, over the rows of the training files (`Rows`): which are held
    out (`held_out_rows`, per split, in the order the split keeps them), which train
    (`train`, a mask), and the counts."""

    def __init__(self, task, seed: int, rows: Rows, tokenizers: tuple):
        files = held_out_files(task)
        self.held_out_text = {}
        held_hashes = []
        for split in ("val", "test"):
            if files[split] is not None:
                pairs = read_held_out_file(task_file(task, files[split], f"task.{split}_path"))
                # Every source of the file stays out of training, those past the limit too,
                # so that the training split is the one a run on the whole file has.
                held_hashes += [key_hash(source, tokenizers[0]) for source, _ in pairs]
                self.held_out_text[split] = first_sources(pairs, task.held_out_limit, tokenizers[0])
        first = np.unique(rows.hashes, return_index=True)[1]
        first.sort()  # each distinct source's first row, in the order they appear
        sizes = cut_sizes(task)
        check_split_sizes(task, len(first))
        order = np.random.default_rng(seed).permutation(len(first))
        start, self.held_out_rows = 0, {}
        for split in sizes:
            chosen = rows.hashes[first[order[start : start + sizes[split]]]]
            self.held_out_rows[split] = _rows_of(rows, chosen)
            held_hashes += chosen.tolist()
            start += sizes[split]
        held = np.isin(rows.hashes, np.asarray(held_hashes, np.uint64))
        repeat = np.ones(len(rows), bool)
        # One file's firsts are those above: its scan's arrays are not sorted again.
        repeat[first if len(rows.files) == 1 else rows.first_of_each_file()] = False
        too_long = np.zeros(len(rows), bool)
        for side, limit in enumerate(
            (task.max_train_source_symbols, task.max_train_target_symbols)
        ):
            if limit is not None:
                too_long |= rows.lengths[side] > limit
        keep_all = task.repeated_sources == "all"
        self.train = ~held & (keep_all | ~repeat) & ~too_long
        kept_held = np.zeros(len(rows), bool)
        for chosen_rows in self.held_out_rows.values():
            kept_held[chosen_rows] = True
        self.counts = {
            "repeated_source_lines": int(repeat.sum()),
            "held_out_source_lines_left_out": int((held & ~kept_held).sum()),
            "too_long_left_out": int((too_long & ~held & (keep_all | ~repeat)).sum()),
        }
        self.distinct_sources = len(first)
