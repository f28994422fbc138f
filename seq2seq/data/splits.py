"""The data a run trains and measures on: its vocabularies and three splits of token ids.

Two kinds of split answer the same questions (how many, how long, these rows padded):

- `Split`: padded arrays in memory, for generated tasks and held-out data;
- `RaggedSplit`: token ids laid end to end with each row's offsets, memory-mapped from
  files (`seq2seq.data.ragged_store`), for training data read from files of any size: a
  20,000-symbol pair costs its length, not a column of padding in every row.
"""

import functools
from dataclasses import dataclass, field

import numpy as np

from seq2seq.text.vocabulary import PAD_ID, Vocabularies

SPLITS = ("train", "val", "test")


def _pad(rows: list, width: int | None = None) -> np.ndarray:
    width = max((len(r) for r in rows), default=0) if width is None else width
    array = np.full((len(rows), max(width, 1)), PAD_ID, np.int32)
    for i, row in enumerate(rows):
        array[i, : len(row)] = row
    return array


@dataclass(frozen=True)
class Split:
    """One split in memory: token ids padded with PAD_ID, without BOS or EOS.

    Attributes:
        source_ids: int32 (n, max source length).
        target_ids: int32 (n, max target length).
        target_texts: the targets as text, where they came from text (a file of
            pairs): the first reference of each row, untouched by the vocabulary.
        references: where they came from text, every target of each row's source (a
            tuple of texts per row, `target_texts` first): the `*_any` metrics, BLEU and
            chrF measure against them all.
        source_texts: where they came from text, each row's source as read (normalized
            as the run's `task.normalize` says): what evaluate's file of examples shows.
    """

    source_ids: np.ndarray
    target_ids: np.ndarray
    target_texts: tuple | None = None
    references: tuple | None = None
    source_texts: tuple | None = None

    @classmethod
    def from_rows(
        cls, sources: list, targets: list, target_texts=None, references=None, source_texts=None
    ) -> "Split":
        """A split from lists of token-id rows of any lengths."""
        return cls(_pad(sources), _pad(targets), target_texts, references, source_texts)

    def source_text(self, row: int, vocab) -> str:
        """Row `row`'s source as text: as it was read, or detokenized from its ids."""
        if self.source_texts is not None:
            return self.source_texts[row]
        return vocab.decode_text(self.source_ids[row])

    def references_of(self, row: int, vocab) -> tuple:
        """Row `row`'s references as texts: all its source's targets, or its one target."""
        if self.references is not None:
            return self.references[row]
        return (self.target_text(row, vocab),)

    def target_text(self, row: int, vocab) -> str:
        """Row `row`'s target as text: as it was read, or detokenized from its ids."""
        if self.target_texts is not None:
            return self.target_texts[row]
        return vocab.decode_text(self.target_ids[row])

    def head(self, count: int) -> "Split":
        """The first `count` rows (all of them in a shorter split), their texts with them.

        The arrays keep their padded widths, so that the rows make batches of the same
        shapes as the whole split's and a step compiled for one serves the other.
        """

        def first(rows):
            return None if rows is None else rows[:count]

        return Split(
            self.source_ids[:count], self.target_ids[:count], first(self.target_texts),
            first(self.references), first(self.source_texts),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.source_ids)

    @functools.cached_property
    def source_lengths(self) -> np.ndarray:
        return (self.source_ids != PAD_ID).sum(axis=1)

    @functools.cached_property
    def target_lengths(self) -> np.ndarray:
        return (self.target_ids != PAD_ID).sum(axis=1)

    def pad_rows(self, rows: np.ndarray) -> tuple:
        """The sources and targets of `rows`, padded to the longest of each among them."""
        source_width = int(self.source_lengths[rows].max(initial=1))
        target_width = int(self.target_lengths[rows].max(initial=1))
        return self.source_ids[rows, :source_width], self.target_ids[rows, :target_width]


@dataclass(frozen=True)
class RaggedSplit:
    """One split as ragged token ids: each side's ids end to end, and row offsets.

    Attributes:
        source_ids, target_ids: int32 (total symbols,), memory-mapped or in memory.
        source_offsets, target_offsets: int64 (n + 1,): row i is ids[offsets[i]:offsets[i+1]].
        mix: for rows from several files with `task.train_weights`, how each pass draws
            them (`file_mix.FileMix`); None: every row once a pass.
    """

    source_ids: np.ndarray
    source_offsets: np.ndarray
    target_ids: np.ndarray
    target_offsets: np.ndarray
    mix: object = None

    def __len__(self) -> int:
        return len(self.source_offsets) - 1

    @property
    def source_lengths(self) -> np.ndarray:
        return np.diff(self.source_offsets)

    @property
    def target_lengths(self) -> np.ndarray:
        return np.diff(self.target_offsets)

    def pad_rows(self, rows: np.ndarray) -> tuple:
        """The sources and targets of `rows`, padded to the longest of each among them."""

        def side(ids, offsets):
            return _pad([ids[offsets[r] : offsets[r + 1]] for r in rows])

        return side(self.source_ids, self.source_offsets), side(
            self.target_ids, self.target_offsets
        )

    def to_split(self) -> Split:
        """The whole split padded in memory (for small splits only)."""
        rows = np.arange(len(self))
        return Split(*self.pad_rows(rows))


@dataclass(frozen=True)
class TaskData:
    """A task's vocabularies and its three splits.

    Attributes:
        vocabs: the source's and the target's vocabularies (one object when shared).
        train: a `Split` or, for files of pairs, a `RaggedSplit`.
        val, test: `Split`s.
        held_out_text: for data read from files, the val and test pairs as text
            (`{"val": [(source, target), ...], "test": [...]}`), which the run saves.
        record: where the data came from and what was kept, for the run's data.json.
    """

    vocabs: Vocabularies
    train: Split | RaggedSplit
    val: Split
    test: Split
    held_out_text: dict | None = None
    record: dict = field(default_factory=dict)

    def split(self, name: str) -> Split | RaggedSplit:
        """The split called `name` (train, val or test)."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]
