"""Toy tasks: deterministic generation of (source, target) pairs and their cache under data/.

A task draws source sequences of symbols and computes each target from its source.
Validation and test sources are distinct and never appear in training, so held-out
exact-match measures generalization, not memory.
"""

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np

from seq2seq.vocab import FIRST_SYMBOL_ID, PAD_ID, Vocabulary
from seq2seq_config.validation import held_out_limit

log = logging.getLogger(__name__)

# Bump when generation changes, so that cached files of the old kind are not reused.
GENERATOR_VERSION = 2
SPLITS = ("train", "val", "test")
_ARRAYS = ("source_ids", "target_ids")


@dataclass(frozen=True)
class Split:
    """One split: token ids padded with PAD_ID, without BOS or EOS.

    Attributes:
        source_ids: int32 (n, max source length).
        target_ids: int32 (n, max target length).
    """

    source_ids: np.ndarray
    target_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.source_ids)

    @property
    def target_lengths(self) -> np.ndarray:
        return (self.target_ids != PAD_ID).sum(axis=1)


@dataclass(frozen=True)
class TaskData:
    """A task's vocabulary and its three splits."""

    vocab: Vocabulary
    train: Split
    val: Split
    test: Split

    def split(self, name: str) -> Split:
        """The split called `name` (train, val or test)."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def reverse_targets(source_ids: np.ndarray) -> np.ndarray:
    """Each row's symbols in reverse order, padding kept at the end.

    Args:
        source_ids: int (n, time) token ids, padded with PAD_ID at the end.

    Returns:
        An array of the same shape: row `3 1 4 0 0` becomes `4 1 3 0 0`.
    """
    lengths = (source_ids != PAD_ID).sum(axis=1, keepdims=True)
    index = lengths - 1 - np.arange(source_ids.shape[1])[None, :]
    reversed_ids = np.take_along_axis(source_ids, np.maximum(index, 0), axis=1)
    return np.where(index >= 0, reversed_ids, PAD_ID).astype(np.int32)


TARGETS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {"reverse": reverse_targets}


def sample_sources(
    rng: np.random.Generator, n: int, vocab_size: int, min_len: int, max_len: int
) -> np.ndarray:
    """Draws `n` sources: a length uniform in [min_len, max_len], then uniform symbols.

    Returns:
        int32 (n, max_len) token ids, padded with PAD_ID.
    """
    lengths = rng.integers(min_len, max_len + 1, size=n)
    symbols = rng.integers(0, vocab_size, size=(n, max_len))
    ids = symbols + FIRST_SYMBOL_ID
    ids[np.arange(max_len)[None, :] >= lengths[:, None]] = PAD_ID
    return ids.astype(np.int32)


def _draw(rng, n, task_cfg, forbidden: set, held_out: bool) -> np.ndarray:
    """Draws `n` sources, none of them in `forbidden`.

    Held-out sources are distinct, are added to `forbidden`, and take at most half of
    the sources of each length; a rejected row is drawn again, length included. That
    ends because config validation keeps the held-out splits within those halves.
    """
    taken = {}
    rows = []
    while len(rows) < n:
        batch = sample_sources(
            rng, n - len(rows), task_cfg.vocab_size, task_cfg.min_len, task_cfg.max_len
        )
        for row in batch:
            key = row.tobytes()
            if key in forbidden:
                continue
            if held_out:
                length = int((row != PAD_ID).sum())
                if taken.get(length, 0) >= held_out_limit(task_cfg.vocab_size, length):
                    continue
                taken[length] = taken.get(length, 0) + 1
                forbidden.add(key)
            rows.append(row)
    return np.stack(rows)


def generate(task_cfg, seed: int) -> TaskData:
    """Generates a task's three splits, deterministically from `seed`.

    Args:
        task_cfg: the `task` config group.
        seed: the run's seed.

    Returns:
        The task's data; validation and test are distinct sources, none in training.
    """
    rng = np.random.default_rng([seed, GENERATOR_VERSION])
    forbidden = set()
    held_out = _draw(rng, task_cfg.val_size + task_cfg.test_size, task_cfg, forbidden, True)
    # Shuffled before the cut: rows accepted before a length's cap was reached come
    # first, and validation alone would get them.
    held_out = held_out[rng.permutation(len(held_out))]
    val, test = held_out[: task_cfg.val_size], held_out[task_cfg.val_size :]
    train = _draw(rng, task_cfg.train_size, task_cfg, forbidden, held_out=False)
    to_target = TARGETS[task_cfg.name]
    splits = {
        name: Split(sources, to_target(sources))
        for name, sources in zip(SPLITS, (train, val, test))
    }
    return TaskData(vocab=Vocabulary.numbered(task_cfg.vocab_size), **splits)


def generate_longer(task_cfg, seed: int, size: int, min_len: int, max_len: int) -> Split:
    """A split of `size` sources with lengths `min_len .. max_len`, for length generalization.

    Drawn from its own random stream of `seed`, so it is the same for every evaluation
    of a run; with lengths beyond training it shares no sequence with it.
    """
    rng = np.random.default_rng([seed, GENERATOR_VERSION, min_len, max_len])
    sources = sample_sources(rng, size, task_cfg.vocab_size, min_len, max_len)
    return Split(sources, TARGETS[task_cfg.name](sources))


def cache_path(task_cfg, seed: int, data_dir: str) -> Path:
    """Where the generated dataset of these task parameters is cached."""
    key = (
        f"v{task_cfg.vocab_size}_len{task_cfg.min_len}-{task_cfg.max_len}"
        f"_n{task_cfg.train_size}-{task_cfg.val_size}-{task_cfg.test_size}"
        f"_seed{seed}_g{GENERATOR_VERSION}"
    )
    return Path(data_dir) / task_cfg.name / f"{key}.npz"


def _checksum(arrays: Dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def _to_arrays(data: TaskData) -> Dict[str, np.ndarray]:
    return {
        f"{split}_{array}": getattr(data.split(split), array)
        for split in SPLITS
        for array in _ARRAYS
    }


def save(data: TaskData, path: Path) -> None:
    """Writes a dataset with its checksum, atomically: a temporary file, then a rename.

    Runs that start at the same time may both write; either file is whole and the same.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _to_arrays(data)
    symbols = np.array(data.vocab.symbols)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, symbols=symbols, checksum=np.array(_checksum(arrays)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> TaskData:
    """Reads a dataset written by `save`.

    Raises:
        ValueError: if the file is truncated, corrupted or not of this kind.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except Exception as error:  # zipfile, zlib and numpy each raise their own kind
        raise ValueError(f"{path} cannot be read: {error}") from error
    stored = arrays.pop("checksum", None)
    symbols = arrays.pop("symbols", None)
    if stored is None or symbols is None or _checksum(arrays) != str(stored):
        raise ValueError(f"{path} does not match its checksum")
    splits = {
        split: Split(*(arrays[f"{split}_{array}"] for array in _ARRAYS)) for split in SPLITS
    }
    return TaskData(vocab=Vocabulary(symbols.tolist()), **splits)


def load_or_generate(task_cfg, seed: int, data_dir: str) -> Tuple[TaskData, Path]:
    """The task's data from the cache, generated and cached first if missing or damaged.

    Returns:
        The data and the path of its cache file.
    """
    path = cache_path(task_cfg, seed, data_dir)
    if path.exists():
        try:
            return load(path), path
        except ValueError as error:
            log.warning("Regenerating the dataset: %s", error)
    data = generate(task_cfg, seed)
    save(data, path)
    return data, path
