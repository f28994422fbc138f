"""Token ids of any number of pairs on disk, written as they come and read back
memory-mapped (`RaggedSplit`).

A store is a directory: for each side, `<side>.ids.bin` (raw int32, every row's ids end
to end) and `<side>.offsets.npy` (int64, where each row starts, and the end). The ids are
written to disk as rows arrive, so that a training file larger than memory never is in
memory; the offsets (8 bytes a row) are kept until the end. The directory is written
atomically: it is whole, or absent.
"""

from array import array
from pathlib import Path

import numpy as np

from seq2seq.base.files import atomic_write
from seq2seq.data.splits import RaggedSplit

SIDES = ("source", "target")
#: Ids held before they are written to disk.
BUFFER = 1 << 16


class RaggedWriter:
    """Appends rows of token ids to a store being written in `directory`.

    Args:
        directory: the store's directory (being written: a temporary of `atomic_write`).
    """

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._files = {side: open(directory / f"{side}.ids.bin", "wb") for side in SIDES}  # noqa: SIM115 - closed in close()
        self._offsets = {side: array("q", [0]) for side in SIDES}
        self._buffers = {side: array("i") for side in SIDES}

    def append(self, source_ids: list, target_ids: list) -> None:
        """Adds one pair's token ids."""
        for side, ids in zip(SIDES, (source_ids, target_ids)):
            buffer = self._buffers[side]
            buffer.extend(ids)
            self._offsets[side].append(self._offsets[side][-1] + len(ids))
            if len(buffer) > BUFFER:
                self._files[side].write(buffer.tobytes())
                del buffer[:]

    def __len__(self) -> int:
        return len(self._offsets["source"]) - 1

    def close(self) -> None:
        """Finishes the store: each side's ids are on disk; its offsets are written."""
        for side in SIDES:
            self._files[side].write(self._buffers[side].tobytes())
            self._files[side].close()
            np.save(
                self.directory / f"{side}.offsets.npy", np.asarray(self._offsets[side], np.int64)
            )


def write_store(path: Path, rows) -> int:
    """Writes the `(source ids, target ids)` pairs of `rows` as a store at `path`, atomically.

    Returns:
        How many pairs were written.
    """
    with atomic_write(path) as temporary:
        writer = RaggedWriter(temporary)
        try:
            for source_ids, target_ids in rows:
                writer.append(source_ids, target_ids)
        finally:
            writer.close()
        return len(writer)


def read_store(path: Path) -> RaggedSplit:
    """A store written by `write_store`, memory-mapped.

    Raises:
        ValueError: if the store is damaged.
    """
    try:
        arrays = {}
        for side in SIDES:
            offsets = arrays[f"{side}_offsets"] = np.load(path / f"{side}.offsets.npy")
            ids = path / f"{side}.ids.bin"
            arrays[f"{side}_ids"] = (
                np.memmap(ids, dtype=np.int32, mode="r")
                if ids.stat().st_size
                else np.zeros(0, np.int32)
            )
            if (
                offsets[0] != 0
                or np.any(np.diff(offsets) < 0)
                or offsets[-1] > len(arrays[f"{side}_ids"])
            ):
                raise ValueError("offsets out of order")
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is damaged: {error}") from None
    if len(arrays["source_offsets"]) != len(arrays["target_offsets"]):
        raise ValueError(f"{path} is damaged: the sides have different numbers of rows")
    return RaggedSplit(**arrays)
