"""n-best oracle accuracy: the share of sources where any of beam search's `decoding.n_best`
hypotheses is exactly one of the source's references (`evaluate` with `decoding=beam
decoding.n_best=K`). The hypotheses are those `predict` gives for the same settings, each
up to the same length bound; the other figures stay those of the best hypothesis.
"""

import numpy as np

from seq2seq.data.splits import Split
from seq2seq.decoding.sequences import decode_sequences  # what predict writes
from seq2seq.text.vocabulary import PAD_ID


def oracle_right(model, split: Split, decoding_cfg, batch_size: int, bound, vocab) -> np.ndarray:
    """Whether, for each row of `split`, some n-best hypothesis is one of its references."""
    sequences = [row[row != PAD_ID].tolist() for row in split.source_ids]
    outputs = decode_sequences(model, sequences, decoding_cfg, batch_size, bound)
    return np.array(
        [
            any(vocab.decode_text(ids) in split.references_of(row, vocab) for ids, _ in hyps)
            for row, hyps in enumerate(outputs)
        ],
        bool,
    )


def oracle_exact_match(model, split: Split, decoding_cfg, batch_size: int, bound, vocab) -> float:
    """`oracle_right`'s share of the rows (0 for an empty split)."""
    right = oracle_right(model, split, decoding_cfg, batch_size, bound, vocab)
    return float(right.mean()) if len(right) else 0.0
