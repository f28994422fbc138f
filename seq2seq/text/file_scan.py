"""The shape of a training file of pairs, from one streaming read that validation and the
data's split share.

Validation (before TensorFlow loads) needs the file's counts, lengths and characters;
the split (`seq2seq.text.pair_split`) needs each good line's number, source hash and
lengths; the store's name needs the file's SHA-256. One read gives all three, and it is
kept for the process (`scan_file`, keyed by the file's identity and the reading rules),
so that a run's first read of its training file is for its shape and its second for its
data (`seq2seq.data.tsv`), where it read the file eight times before.

Memory: about 24 bytes a line (number, hash, two lengths), the text never held.
"""

import hashlib
import os
from array import array
from dataclasses import dataclass, field

import numpy as np

from seq2seq.text.text_files import PairFile, PairsRead, read_pairs, source_key


def key_hash(source: str, tokenizer: str) -> int:
    """A 64-bit hash of what makes a source itself (`text_files.source_key`)."""
    return _hash_of(source_key(source, tokenizer))


def _hash_of(key: object) -> int:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass
class PairsStats:
    """What one streaming pass over a file of pairs tells before anything is trained.

    Attributes:
        pairs: good lines.
        distinct_sources: distinct sources among them (by `source_key`).
        shortest, longest: the fewest and most symbols of each side (source, target),
            None for a subword side.
        characters: the distinct characters of each side (a subword model needs a piece
            for each; a space counts as SentencePiece's `\u2581`).
    """

    pairs: int = 0
    distinct_sources: int = 0
    shortest: list = field(default_factory=lambda: [None, None])
    longest: list = field(default_factory=lambda: [None, None])
    characters: list = field(default_factory=lambda: [set(), set()])


@dataclass
class FileScan:
    """What one read of a file of pairs told.

    Attributes:
        stats: validation's counts (`PairsStats`).
        lines: each good line's number (int64).
        hashes: each good line's source hash (`key_hash`, uint64).
        lengths: [source, target] symbols of each good line (int64; -1 for subword).
        report: the lines read and the malformed ones skipped.
        sha256: the file's checksum, of every byte read.
    """

    stats: PairsStats
    lines: np.ndarray
    hashes: np.ndarray
    lengths: list
    report: PairsRead
    sha256: str


#: The latest scans by what identifies them: a sweep's jobs, and a run's validation and its
#: split, read a file once. A run's three files are kept (a scan holds 24 bytes a line).
_SCANS: dict = {}
KEPT = 3


def _identity(file: PairFile) -> tuple:
    status = os.stat(file.path)
    return (
        os.path.realpath(file.path), status.st_ino, status.st_size, status.st_mtime_ns,
        tuple(file.tokenizers), file.on_bad_line, file.header, file.normalize,
    )  # fmt: skip


def scan_file(file: PairFile) -> FileScan:
    """Reads a file of pairs once for its shape, or returns this process's scan of it.

    Args:
        file: the file and its rules (`text_files.read_pairs`; its `key` names the file in
            errors only, so a scan made under another key serves).

    Returns:
        The scan.

    Raises:
        UserError, ConfigError: as `text_files.read_pairs`.
    """
    try:
        identity = _identity(file)
    except OSError:
        identity = None  # read_pairs says what is wrong with the path
    if identity is not None and identity in _SCANS:
        _SCANS[identity] = _SCANS.pop(identity)  # the newest last
        return _SCANS[identity]
    scan = _read(file)
    if identity is not None:
        _SCANS[identity] = scan
        while len(_SCANS) > KEPT:
            del _SCANS[next(iter(_SCANS))]
    return scan


def _read(file: PairFile) -> FileScan:
    report, stats, digest = PairsRead(), PairsStats(), hashlib.sha256()
    lines, hashes, lengths = array("q"), array("Q"), (array("l"), array("l"))
    rules = file.rules
    for number, source, target in read_pairs(file, report, digest):
        lines.append(number)
        hashes.append(_hash_of(rules[0].source_key(source)))
        for side, text in enumerate((source, target)):
            stats.characters[side].update(text.replace(" ", "\u2581"))
            count = rules[side].symbol_count(text)
            lengths[side].append(-1 if count is None else count)
            if count is not None:
                low, high = stats.shortest[side], stats.longest[side]
                stats.shortest[side] = count if low is None else min(low, count)
                stats.longest[side] = count if high is None else max(high, count)
    hashes = np.frombuffer(hashes, np.uint64) if hashes else np.zeros(0, np.uint64)
    stats.pairs = len(lines)
    stats.distinct_sources = len(np.unique(hashes))
    return FileScan(
        stats=stats,
        lines=np.frombuffer(lines, np.int64) if lines else np.zeros(0, np.int64),
        hashes=hashes,
        lengths=[np.asarray(side, np.int64) for side in lengths],
        report=report,
        sha256=digest.hexdigest(),
    )
