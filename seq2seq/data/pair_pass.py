"""The data pass over a training file of pairs whose tokenizers need no training (`char`,
`space`): one read gives the held-out pairs' texts, each side's symbol counts over the
training pairs, and the training pairs themselves, written to the store as provisional
ids (each symbol numbered as first seen); once the vocabularies are fitted to the counts,
`remap` turns the provisional ids into theirs, in place.

So a first run reads each training file twice: for its shape (`file_scan`) and here. A
`subword` side must have its SentencePiece model trained before anything is encoded:
those runs read the file for the held-out texts, the model and the encoding
(`seq2seq.data.tsv`).
"""

from collections import Counter
from pathlib import Path

import numpy as np

from seq2seq.data.ragged_store import SIDES, RaggedWriter
from seq2seq.text.pair_split import Rows
from seq2seq.text.tokenizers import make_tokenizer
from seq2seq.text.vocabulary import Vocabularies

#: Ids remapped at a time (256 kB of them): the store is memory-mapped, never read whole,
#: and what a remap holds at once stays the same for files of any size.
CHUNK = 1 << 16


def read_data(
    task, rows: Rows, tokenizers: tuple, held_out_rows: dict, train_rows: np.ndarray, store: Path
) -> tuple:
    """Reads the held-out and training rows of the training files once, writing the
    training pairs to `store` as provisional ids, file after file.

    Args:
        task: the `task` config group (how the files are read; `shared_vocab`).
        rows: the training files' rows (`pair_split.Rows`).
        tokenizers: (source, target) tokenizer names, neither a trained one.
        held_out_rows: `{split: rows}` of the splits cut from the files, in the order
            each split keeps them.
        train_rows: the training split's rows.
        store: the directory the training store is written in.

    Returns:
        `(held-out texts {split: [(source, target), ...]}, symbol counts per side,
        provisional symbol tables per side (symbol -> id), the longest source, the
        pairs written from each file)`.
    """
    # A shared vocabulary splits both sides with the source's tokenizer, as it encodes them.
    names = (tokenizers[0], tokenizers[0]) if task.shared_vocab else tokenizers
    splitters = [make_tokenizer(name) for name in names]
    table = {}
    tables = (table, table) if task.shared_vocab else (table, {})
    counts = (Counter(), Counter())
    split_of = {n: split for split, chosen in held_out_rows.items() for n in chosen.tolist()}
    texts = {split: {} for split in held_out_rows}
    wanted = np.concatenate([train_rows, *held_out_rows.values()])
    wanted.sort()  # in place: the rows in file order, as they are read
    writer, longest = RaggedWriter(store), 0
    written = np.zeros(len(rows.files), np.int64)
    try:
        for row, source, target in rows.pairs(wanted):
            split = split_of.get(row)
            if split is not None:
                texts[split][row] = (source, target)
                continue
            ids = []
            for side, text in enumerate((source, target)):
                symbols = splitters[side].split(text)
                counts[side].update(symbols)
                ids.append([tables[side].setdefault(s, len(tables[side])) for s in symbols])
            longest = max(longest, len(ids[0]))
            writer.append(*ids)
            written[rows.file_of(row)] += 1
    finally:
        writer.close()
    held_out = {split: [texts[split][n] for n in chosen.tolist()] for split, chosen in held_out_rows.items()}  # fmt: skip
    return held_out, counts, tables, longest, written.tolist()


def remap(store: Path, vocabs: Vocabularies, tables: tuple) -> None:
    """Turns a store's provisional ids (`read_data`) into the vocabularies' ids, in place.

    Args:
        store: the training store's directory.
        vocabs: the vocabularies fitted to the counts (a symbol they dropped becomes
            `<unk>`, as encoding the text would make it).
        tables: the provisional symbol tables `read_data` returned.
    """
    for side, vocab, table in zip(SIDES, (vocabs.source, vocabs.target), tables):
        lookup = np.asarray(vocab.encode(list(table)), np.int32)
        path = store / f"{side}.ids.bin"
        if not path.stat().st_size:
            continue
        ids = np.memmap(path, dtype=np.int32, mode="r+")
        for start in range(0, len(ids), CHUNK):
            ids[start : start + CHUNK] = lookup[ids[start : start + CHUNK]]
        ids.flush()
        del ids
