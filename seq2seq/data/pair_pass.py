"""The data pass over a training file of pairs whose tokenizers need no training (`char`,
`space`): one read gives the held-out pairs' texts, each side's symbol counts over the
training pairs, and the training pairs themselves, written to the store as provisional
ids (each symbol numbered as first seen); once the vocabularies are fitted to the counts,
`remap` turns the provisional ids into theirs, in place.

So a first run reads its training file twice: for its shape (`file_scan`) and here. A
`subword` side must have its SentencePiece model trained before anything is encoded:
those runs read the file for the held-out texts, the model and the encoding
(`seq2seq.data.tsv`).
"""

from collections import Counter
from pathlib import Path

import numpy as np

from seq2seq.data.pair_vocabularies import training_pairs
from seq2seq.data.ragged_store import SIDES, RaggedWriter
from seq2seq.data.tokenizers import make_tokenizer
from seq2seq.data.vocabulary import Vocabularies

#: Ids remapped at a time (256 kB of them): the store is memory-mapped, never read whole,
#: and what a remap holds at once stays the same for files of any size.
CHUNK = 1 << 16


def read_data(
    task, path, tokenizers: tuple, held_out_lines: dict, train_lines: np.ndarray, store: Path
) -> tuple:
    """Reads the held-out and training lines of the file once, writing the training pairs
    to `store` as provisional ids.

    Args:
        task: the `task` config group (how the file is read; `shared_vocab`).
        path: the training file.
        tokenizers: (source, target) tokenizer names, neither a trained one.
        held_out_lines: `{split: line numbers}` of the splits cut from the file, in the
            order each split keeps them.
        train_lines: the numbers of the training split's lines.
        store: the directory the training store is written in.

    Returns:
        `(held-out texts {split: [(source, target), ...]}, symbol counts per side,
        provisional symbol tables per side (symbol -> id), the longest source, the
        pairs written)`.
    """
    # A shared vocabulary splits both sides with the source's tokenizer, as it encodes them.
    names = (tokenizers[0], tokenizers[0]) if task.shared_vocab else tokenizers
    splitters = [make_tokenizer(name) for name in names]
    table = {}
    tables = (table, table) if task.shared_vocab else (table, {})
    counts = (Counter(), Counter())
    split_of = {n: split for split, lines in held_out_lines.items() for n in lines.tolist()}
    texts = {split: {} for split in held_out_lines}
    wanted = np.concatenate([train_lines, *held_out_lines.values()])
    writer, longest = RaggedWriter(store), 0
    try:
        for number, source, target in training_pairs(task, path, tokenizers, wanted):
            split = split_of.get(number)
            if split is not None:
                texts[split][number] = (source, target)
                continue
            row = []
            for side, text in enumerate((source, target)):
                symbols = splitters[side].split(text)
                counts[side].update(symbols)
                row.append([tables[side].setdefault(s, len(tables[side])) for s in symbols])
            longest = max(longest, len(row[0]))
            writer.append(*row)
    finally:
        writer.close()
    held_out = {split: [texts[split][n] for n in lines.tolist()] for split, lines in held_out_lines.items()}  # fmt: skip
    return held_out, counts, tables, longest, len(writer)


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
