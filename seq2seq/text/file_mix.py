"""Several training files in the proportions `task.train_weights` gives, epoch by epoch.

The training store holds the files' pairs one file after another. A pass over it (what
an epoch is, unless `trainer.steps_per_epoch` says otherwise) keeps its length, the sum
of the files' pairs, and draws each file's share of it: a file's draws walk through a
stream of its own permutations (each from the seed, the file and the permutation's
number), so that a pair comes round again only once every pair of its file has, and a
small file given a large weight is passed through several times in new orders. The rows
of pass `k` depend on `(seed, k)` alone: a resumed run draws the pairs an uninterrupted
one draws. OpenNMT-tf's `train_files_weights` samples the files the same way, at random
per example; drawing exact counts per pass keeps every epoch's mix what was asked.
"""

import logging
from dataclasses import dataclass

import numpy as np

from seq2seq.base.errors import ConfigError

log = logging.getLogger(__name__)

#: Mixed into the seed of a file's permutations, so that they are not `batching`'s orders.
_STREAM = 0x6D6978


@dataclass(frozen=True)
class FileMix:
    """How a pass over a store of several files draws from each.

    Attributes:
        sizes: each file's training pairs, in the store's order.
        weights: each file's share of a pass (summing to 1).
        seed: the run's seed.
    """

    sizes: tuple
    weights: tuple
    seed: int

    def draws(self) -> list[int]:
        """How many pairs a pass draws from each file: its share of all the files' pairs,
        rounded so that the counts sum to that total (largest remainders first)."""
        total = sum(self.sizes)
        exact = [weight * total for weight in self.weights]
        counts = [int(np.floor(value)) for value in exact]
        by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
        for i in by_remainder[: total - sum(counts)]:
            counts[i] += 1
        return counts

    def rows(self, number: int) -> np.ndarray:
        """The store rows of pass `number`, file by file (the batches shuffle them).

        Returns:
            int64 row indices; `sum(self.sizes)` of them.
        """
        offsets = np.cumsum((0,) + tuple(self.sizes))
        parts = []
        for index, (size, count) in enumerate(zip(self.sizes, self.draws())):
            if count:
                parts.append(offsets[index] + self._stream(index, size, number * count, count))
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def _stream(self, index: int, size: int, start: int, count: int) -> np.ndarray:
        """Positions `start .. start + count - 1` of file `index`'s stream of permutations."""
        out, position = [], start
        while position < start + count:
            cycle, offset = divmod(position, size)
            order = np.random.default_rng([self.seed, _STREAM, index, cycle]).permutation(size)
            take = order[offset : offset + start + count - position]
            out.append(take)
            position += len(take)
        return np.concatenate(out)

    def file_of(self, rows: np.ndarray) -> np.ndarray:
        """Which file each store row came from."""
        return np.searchsorted(np.cumsum(self.sizes), rows, side="right")

    def record(self, paths: list) -> dict:
        """What data.json says of the mix: each file's pairs, weight and draws a pass."""
        return {
            "pairs_per_pass": int(sum(self.sizes)),
            "files": [
                {"path": str(path), "pairs": int(size), "weight": round(weight, 6), "drawn_per_pass": count}
                for path, size, weight, count in zip(paths, self.sizes, self.weights, self.draws())
            ],
            "how": "each pass draws each file's share of the files' pairs from the seed, without "
            "replacement until the file is used up, then through it again in a new order",
        }  # fmt: skip


def file_mix(task, paths: list, sizes: list, weights: list, seed: int) -> FileMix:
    """The draws of `task.train_weights` over the store's files, said in the log.

    Args:
        task: the `task` config group (for errors).
        paths: the training files, in the store's order.
        sizes: each file's training pairs.
        weights: each file's share (`pair_files.training_weights`).
        seed: the run's seed.

    Returns:
        The mix.

    Raises:
        ConfigError: for a file given a weight that keeps no pair to train on.
    """
    for path, size, weight in zip(paths, sizes, weights):
        if weight > 0 and not size:
            raise ConfigError(
                "task.train_weights", list(task.train_weights),
                f"{path} keeps no pair to train on (held out, repeated or too long); "
                "allowed: weight 0 for it, or leave it out of task.train_paths",
            )  # fmt: skip
    mix = FileMix(tuple(sizes), tuple(weights), seed)
    log.info(
        "Each epoch draws %s",
        "; ".join(
            f"{count} pairs from {path} ({count / max(size, 1):.2f} of its {size}; weight {weight:.3g})"
            for path, size, weight, count in zip(paths, sizes, weights, mix.draws())
        ),
    )  # fmt: skip
    return mix
