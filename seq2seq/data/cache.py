"""The on-disk cache of generated datasets under `data_dir`, one checksummed `.npz` per setting.

Generating 40,000 sequences takes seconds; reading them back takes milliseconds. A
cached file is written atomically and checked against its SHA-256 checksum when read,
so a truncated or damaged one is regenerated, never used.
"""

import hashlib
from pathlib import Path

import numpy as np

from seq2seq.base.files import atomic_write
from seq2seq.data.generated import GENERATOR_VERSION
from seq2seq.data.splits import SPLITS, Split, TaskData
from seq2seq.text.vocabulary import Vocabularies, Vocabulary

_ARRAYS = ("source_ids", "target_ids")


def cache_path(task_cfg, seed: int, data_dir: str) -> Path:
    """Where the generated dataset of these task parameters is cached."""
    key = (
        f"v{task_cfg.vocab_size}_len{task_cfg.min_source_symbols}-{task_cfg.max_source_symbols}"
        f"_n{task_cfg.train_size}-{task_cfg.val_size}-{task_cfg.test_size}"
        f"_seed{seed}_g{GENERATOR_VERSION}"
    )
    if task_cfg.name == "reverse_prefix":
        key += f"_t{task_cfg.reversed_symbols}"
    return Path(data_dir) / task_cfg.name / f"{key}.npz"


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def _to_arrays(data: TaskData) -> dict[str, np.ndarray]:
    return {
        f"{split}_{array}": getattr(data.split(split), array)
        for split in SPLITS
        for array in _ARRAYS
    }


def save(data: TaskData, path: Path) -> None:
    """Writes a dataset with its checksum, atomically.

    Runs that start at the same time may both write; either file is whole and the same.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _to_arrays(data)
    symbols = np.array(data.vocabs.source.symbols)
    with atomic_write(path, suffix=".npz") as temporary:
        np.savez(temporary, symbols=symbols, checksum=np.array(_checksum(arrays)), **arrays)


def load(path: Path) -> TaskData:
    """Reads a dataset written by `save`.

    Raises:
        ValueError: if the file is truncated, corrupted or not of this kind.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except Exception as error:  # noqa: BLE001 - zipfile, zlib and numpy each raise their own kind
        raise ValueError(f"{path} cannot be read: {error}") from error
    stored = arrays.pop("checksum", None)
    symbols = arrays.pop("symbols", None)
    if stored is None or symbols is None or _checksum(arrays) != str(stored):
        raise ValueError(f"{path} does not match its checksum")
    splits = {split: Split(*(arrays[f"{split}_{array}"] for array in _ARRAYS)) for split in SPLITS}
    vocab = Vocabulary(symbols.tolist(), "space", splits["train"].source_ids.shape[1])
    return TaskData(vocabs=Vocabularies.shared(vocab), **splits)
