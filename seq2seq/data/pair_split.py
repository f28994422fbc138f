"""Which lines of a file of pairs train and which are held out, decided from the file's
scan (`seq2seq_config.task.file_scan`: per good line its number, a 64-bit hash of its
source and its lengths): the held-out sources, the repeats and the pairs too long.

Memory: about 24 bytes per line of the training file (its text is never held).
"""

import numpy as np

from seq2seq_config.cli.errors import ConfigError
from seq2seq_config.task.file_scan import FileScan, key_hash
from seq2seq_config.task.pair_files import check_split_sizes, cut_sizes, held_out_files
from seq2seq_config.task.text_files import read_pairs


def texts_of_lines(
    path,
    tokenizers: tuple,
    on_bad_line: str,
    wanted: np.ndarray,
    key: str,
    header=None,
    normalize: str = "none",
):
    """Yields `(line number, source, target)` of the good lines whose numbers are in `wanted`
    (`header` and `normalize` as `text_files.read_pairs`: the same as the pass that chose
    them)."""
    keep = np.zeros(int(wanted.max(initial=0)) + 1, bool)  # a flag per line number
    keep[wanted] = True
    read = read_pairs(path, tokenizers, on_bad_line, key, header=header, normalize=normalize)
    for number, source, target in read:
        if number < len(keep) and keep[number]:
            yield number, source, target


def group_references(pairs) -> list:
    """Text pairs as `(source, (target, ...))`, one per distinct source in the order
    sources first appear, its targets in file order (the first one first)."""
    grouped: dict = {}
    for source, target in pairs:
        grouped.setdefault(source, []).append(target)
    return [(source, tuple(targets)) for source, targets in grouped.items()]


def read_held_out_file(
    path, tokenizers, on_bad_line, key, header=None, header_key="task.header", normalize="none"
) -> list:
    """Every good pair of a file of held-out pairs, as `(source, target)` texts, the
    sources normalized as `normalize` says (`text_files.read_pairs`).

    Raises:
        UserError: as `text_files.read_pairs`.
        ConfigError: for a file without a pair.
    """
    read = read_pairs(
        path, tokenizers, on_bad_line, key, header=header, header_key=header_key,
        normalize=normalize,
    )  # fmt: skip
    pairs = [(source, target) for _, source, target in read]
    if not pairs:
        raise ConfigError(
            key, str(path), "holds no pair; allowed: a file of source<TAB>target lines"
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


def _lines_of(scan: FileScan, chosen: np.ndarray) -> np.ndarray:
    """Every line of the `chosen` sources (hashes), source by source in the order chosen,
    each source's lines in file order: a held-out source keeps all its targets."""
    rank = {int(h): i for i, h in enumerate(chosen.tolist())}
    rows = np.flatnonzero(np.isin(scan.hashes, chosen))
    ranks = np.array([rank[int(h)] for h in scan.hashes[rows].tolist()], np.int64)
    return scan.lines[rows[np.argsort(ranks, kind="stable")]]


class SplitPlan:
    """Pass 1's decisions: which lines are held out, which train, and the counts."""

    def __init__(self, task, seed: int, scan: FileScan, tokenizers: tuple):
        files = held_out_files(task)
        self.held_out_text = {}
        held_hashes = []
        for split in ("val", "test"):
            if files[split] is not None:
                pairs = read_held_out_file(
                    files[split], tokenizers, task.on_bad_line, f"task.{split}_path",
                    task.header, normalize=task.normalize,
                )  # fmt: skip
                # Every source of the file stays out of training, those past the limit too,
                # so that the training split is the one a run on the whole file has.
                held_hashes += [key_hash(source, tokenizers[0]) for source, _ in pairs]
                self.held_out_text[split] = first_sources(pairs, task.held_out_limit, tokenizers[0])
        unique, first = np.unique(scan.hashes, return_index=True)
        first = np.sort(first)  # each distinct source's first line, in the order they appear
        sizes = cut_sizes(task)
        cut = list(sizes)
        check_split_sizes(task, len(first))
        order = np.random.default_rng(seed).permutation(len(first))
        start, self.held_out_lines = 0, {}
        for split in cut:
            chosen = scan.hashes[first[order[start : start + sizes[split]]]]
            self.held_out_lines[split] = _lines_of(scan, chosen)
            held_hashes += chosen.tolist()
            start += sizes[split]
        held = np.isin(scan.hashes, np.asarray(held_hashes, np.uint64))
        repeat = np.ones(len(scan.lines), bool)
        repeat[first] = False
        too_long = np.zeros(len(scan.lines), bool)
        for side, limit in enumerate((task.max_source_len, task.max_target_len)):
            if limit is not None:
                too_long |= scan.lengths[side] > limit
        keep_all = task.repeated_sources == "all"
        self.train = ~held & (keep_all | ~repeat) & ~too_long
        self.counts = {
            "repeated_source_lines": int(repeat.sum()),
            "held_out_source_lines_left_out": int(
                (held & ~np.isin(scan.lines, self._held_lines())).sum()
            ),
            "too_long_left_out": int((too_long & ~held & (keep_all | ~repeat)).sum()),
        }
        self.distinct_sources = len(unique)

    def _held_lines(self) -> np.ndarray:
        lines = [lines for lines in self.held_out_lines.values()]
        return np.concatenate(lines) if lines else np.zeros(0, np.int64)
