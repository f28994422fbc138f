"""The data a run trains and measures on: a vocabulary and three splits of token ids."""

from dataclasses import dataclass, field

import numpy as np

from seq2seq.data.vocabulary import PAD_ID, Vocabulary

SPLITS = ("train", "val", "test")


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
    """A task's vocabulary and its three splits.

    Attributes:
        held_out_text: for data read from files, the val and test pairs as text
            (`{"val": [(source, target), ...], "test": [...]}`), which the run saves.
        record: where the data came from and what was kept, for the run's data.json.
    """

    vocab: Vocabulary
    train: Split
    val: Split
    test: Split
    held_out_text: dict | None = None
    record: dict = field(default_factory=dict)

    def split(self, name: str) -> Split:
        """The split called `name` (train, val or test)."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]
