"""The vocabularies of a file of pairs: fitted to its training pairs (symbol counts, or a
SentencePiece model), or another run's extended with the symbols they lack, so that a
fine-tuned run keeps every id its parent had."""

from collections import Counter

import numpy as np

from seq2seq.base.errors import ConfigError
from seq2seq.text.pair_files import subword_sizes
from seq2seq.text.pair_split import Rows
from seq2seq.text.tokenizers import TOKENIZER_CLASSES, make_tokenizer, train_subword
from seq2seq.text.vocabulary import Vocabularies, Vocabulary


def fit_vocabularies(
    task,
    rows: Rows,
    tokenizers,
    train_rows: np.ndarray,
    longest_source: int,
    base=None,
    counted=None,
) -> Vocabularies:
    """Step 3 of `tsv.load`: each side's vocabulary from the training pairs alone, or
    `base`'s (another run's: `task.vocab_from`, fine-tuning) with the symbols it lacks
    appended.

    Args:
        task: the `task` config group.
        rows: the training files' rows (`pair_split.Rows`).
        tokenizers: (source, target) tokenizer names.
        train_rows: the training split's rows.
        longest_source: the longest training source, if known (else set later).
        base: the vocabularies to start from, or None.
        counted: each side's symbol counts over the training pairs, already made by the
            data pass (`pair_pass`), or None to read the file for them.

    Returns:
        The vocabularies (one shared object when `task.shared_vocab`).

    Raises:
        ConfigError: if SentencePiece cannot train a vocabulary of the size asked.
    """

    def texts(side):
        return (pair[1 + side] for pair in rows.pairs(train_rows))

    def fit(sides, tokenizer, size_key, size, start=None):
        if start is not None and start.splitter.trained:
            return start  # its SentencePiece model, as trained
        if TOKENIZER_CLASSES[tokenizer].trained:
            stream = (text for side in sides for text in texts(side))
            try:
                return Vocabulary.from_subword(
                    train_subword(stream, size, task.subword_type), longest_source
                )
            except ValueError as error:
                raise ConfigError(size_key, size, f"SentencePiece refused it: {error}") from None
        counts, splitter = Counter(), make_tokenizer(tokenizer)
        for side in sides:
            if counted is not None:
                counts.update(counted[side])
                continue
            for text in texts(side):
                counts.update(splitter.split(text))
        if start is not None:
            return start.extended(counts, task.min_freq)
        return Vocabulary.from_counts(counts, task.min_freq, tokenizer, longest_source)

    sizes = subword_sizes(task)
    source, target = (base.source, base.target) if base is not None else (None, None)
    if task.shared_vocab:
        return Vocabularies.shared(
            fit((0, 1), tokenizers[0], "task.source_vocab_size", sizes[0], source)
        )
    return Vocabularies(
        fit((0,), tokenizers[0], "task.source_vocab_size", sizes[0], source),
        fit((1,), tokenizers[1], "task.target_vocab_size", sizes[1], target),
    )
