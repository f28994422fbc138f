"""Decoding lists of token-id sequences in batches, each to its own length bound: what
`predict` writes and what `evaluate`'s n-best oracle scores (`oracle.py`), so both see the
same hypotheses.
"""

import numpy as np
import tensorflow as tf

from seq2seq.decoding import length_bound
from seq2seq.decoding.strategies import decode, decode_n_best, decoding_options
from seq2seq.text.vocabulary import EOS_ID, PAD_ID


def decode_sequences(
    model, sequences: list[list[int]], decoding_cfg, batch_size: int, bound=None
) -> list[list[tuple]]:
    """Decodes token-id sequences in batches, inside one compiled graph per batch shape.

    Each sequence decodes up to its own length bound, whatever batch it falls in: the
    batch decodes to the largest bound among its rows, then each row is cut at its own.

    Args:
        model: the run's model.
        sequences: token ids of each source.
        decoding_cfg: the `decoding` group.
        batch_size: sources per batch.
        bound: the `length_bound.LengthBound` to decode to (`Run.decoding_bound`);
            None: `decoding.max_tokens` if set, else twice the source plus two.

    Returns:
        For each sequence, its `decoding.n_best` hypotheses, best first, as `(token ids,
        log-probability)`: the ids with EOS where one was emitted (a hypothesis without
        EOS reached its bound: it is cut short); the log-probability only where beam
        search gives it (None otherwise).
    """
    options = decoding_options(decoding_cfg)
    strategy, n_best = decoding_cfg.strategy, decoding_cfg.n_best
    if bound is None:
        bound = length_bound.chosen(length_bound.DEFAULT, decoding_cfg.max_tokens)

    def decode_fn(token_ids, max_len):
        if strategy == "beam" and n_best > 1:
            return decode_n_best(model, token_ids, max_len, n_best=n_best, **options)
        return decode(model, token_ids, max_len, strategy, **options)[:, None, :], tf.zeros([0, 0])

    # No autograph: decoding's loops are TensorFlow's own (converting them cost ~1 s).
    @tf.function(reduce_retracing=True, autograph=False)
    def run(token_ids):
        bounds = bound.tensor(length_bound.source_lengths(token_ids))
        decoded, log_probs = decode_fn(token_ids, tf.reduce_max(bounds))
        return length_bound.cut(decoded, bounds)[0], log_probs

    outputs = []
    for start in range(0, len(sequences), batch_size):
        batch = sequences[start : start + batch_size]
        width = max(len(s) for s in batch)
        token_ids = np.full((len(batch), width), PAD_ID, np.int32)
        for row, sequence in enumerate(batch):
            token_ids[row, : len(sequence)] = sequence
        decoded, log_probs = (t.numpy() for t in run(tf.constant(token_ids)))
        for row, hypotheses in enumerate(decoded):
            scores = log_probs[row] if log_probs.size else [None] * len(hypotheses)
            outputs.append(
                [
                    (_cut_at_eos(h), None if p is None else float(p))
                    for h, p in zip(hypotheses, scores)
                ]
            )
    return outputs


def _cut_at_eos(row: np.ndarray) -> np.ndarray:
    ends = np.flatnonzero(row == EOS_ID)
    return row[: ends[0] + 1] if len(ends) else row
