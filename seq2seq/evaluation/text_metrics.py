"""Metrics on decoded sequences as their readers judge them: token error rate, BLEU, chrF.

- **token error rate**: the total edit distance (insertions, deletions, substitutions)
  between decoded and reference sequences over the total reference length; its unit is
  the target's symbol (characters for `char`, words or phonemes for `space`: the
  character, phoneme or word error rate), and the detokenized text's characters for
  `subword`, whose pieces are not a unit a reader counts. The distances come from
  TensorFlow's `tf.edit_distance` (Levenshtein, in C++).
- **token error rate (any)**: the same against each hypothesis's closest reference (the
  least edit distance; the sum over the summed lengths of those closest references).
- **BLEU** and **chrF**: `sacrebleu`'s corpus scores (0..100) of the detokenized text
  against every reference text of its row, with its default settings, as papers report
  them (a row with fewer references is padded with None, which sacrebleu skips).
"""

from collections.abc import Callable, Sequence

import numpy as np
import sacrebleu
import tensorflow as tf


def _sparse(sequences: Sequence[Sequence[int]]) -> tf.SparseTensor:
    """The sequences as one (rows, longest) sparse tensor, its indices made in NumPy
    (`tf.ragged.constant` from lists took 30 ms of a 1,000-row validation)."""
    lengths = np.fromiter((len(s) for s in sequences), np.int64, count=len(sequences))
    values = np.fromiter((t for s in sequences for t in s), np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(sequences), dtype=np.int64), lengths)
    columns = np.arange(len(values), dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    shape = [len(sequences), int(lengths.max(initial=0))]
    return tf.SparseTensor(np.stack([rows, columns], axis=1), values, shape)


def edit_distances(
    hypotheses: Sequence[Sequence[int]], references: Sequence[Sequence[int]]
) -> np.ndarray:
    """Levenshtein distance of each hypothesis to its reference (sequences of ints)."""
    if not references:
        return np.zeros(0)
    # Both sides end with one extra symbol (-1, no token's id), which leaves the distance
    # as it is (a common ending matches) and gives an empty sequence a row of its own.
    hyp = _sparse([list(h) + [-1] for h in hypotheses])
    ref = _sparse([list(r) + [-1] for r in references])
    return tf.edit_distance(hyp, ref, normalize=False).numpy()


def token_error_rate(
    hypotheses: Sequence[Sequence[int]], references: Sequence[Sequence[int]]
) -> float:
    """Total edit distance over the total reference length (0 when there is none)."""
    total = sum(len(r) for r in references)
    return float(edit_distances(hypotheses, references).sum() / total) if total else 0.0


def characters(texts: Sequence[str]) -> list:
    """Each text as its characters' code points, for a character error rate."""
    return [[ord(c) for c in text] for text in texts]


def closest_error_rate(
    hypotheses: Sequence[Sequence[int]], references: Sequence[Sequence[Sequence[int]]]
) -> float:
    """Token error rate against the closest reference: per hypothesis the least edit
    distance to any of its references (the first such reference on a tie), summed, over
    the summed lengths of those closest references (0 when they are all empty)."""
    flat_h = [h for h, refs in zip(hypotheses, references) for _ in refs]
    flat_r = [r for refs in references for r in refs]
    distances, start, total, length = edit_distances(flat_h, flat_r), 0, 0.0, 0
    for refs in references:
        best = start + int(np.argmin(distances[start : start + len(refs)]))
        total, length, start = (
            total + distances[best],
            length + len(flat_r[best]),
            start + len(refs),
        )
    return float(total / length) if length else 0.0


def reference_streams(references: Sequence) -> list:
    """sacrebleu's reference streams: a reference text per row and stream, a row with
    fewer references padded with None (which sacrebleu skips)."""
    references = [(r,) if isinstance(r, str) else tuple(r) for r in references]
    width = max((len(r) for r in references), default=1)
    return [[r[k] if k < len(r) else None for r in references] for k in range(width)]


def bleu(hypotheses: Sequence[str], references: Sequence) -> float:
    """sacrebleu's corpus BLEU (0..100) of the texts against every reference of each
    (a text, or a tuple of texts, per row)."""
    return float(sacrebleu.corpus_bleu(list(hypotheses), reference_streams(references)).score)


def chrf(hypotheses: Sequence[str], references: Sequence) -> float:
    """sacrebleu's corpus chrF (0..100), its references as `bleu`'s."""
    return float(sacrebleu.corpus_chrf(list(hypotheses), reference_streams(references)).score)


def text_metrics(
    hypothesis_units: Sequence[Sequence[int]],
    reference_units: Sequence[Sequence[int]],
    hypothesis_texts: Sequence[str],
    reference_texts: Sequence[str],
) -> dict:
    """The token error rate over the units given, and BLEU and chrF over the texts."""
    return {
        "token_error_rate": token_error_rate(hypothesis_units, reference_units),
        "bleu": bleu(hypothesis_texts, reference_texts),
        "chrf": chrf(hypothesis_texts, reference_texts),
    }


def several_references(
    hypothesis_units: Sequence[Sequence[int]],
    all_units: Sequence,
    hypothesis_texts: Sequence[str],
    all_texts: Sequence,
) -> dict:
    """Against every reference of each row (a tuple of unit sequences, of texts, per row):
    the token error rate to the closest one, and BLEU and chrF (replacing `text_metrics`'s
    first-reference ones; the same with one reference per row)."""
    return {
        "token_error_rate_any": closest_error_rate(hypothesis_units, all_units),
        "bleu": bleu(hypothesis_texts, all_texts),
        "chrf": chrf(hypothesis_texts, all_texts),
    }


def scores_of_texts(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    units: Callable[[str], Sequence[str]] = str.split,
) -> dict:
    """`evaluate`'s exact-match and error-rate figures of outputs given as text, for a system
    outside the framework (benchmarks/peers.py scores Phonetisaurus with it): the same
    comparisons and the same functions as `Evaluator` on a run's outputs.

    Each distinct unit gets an id of its own, so the edit distances are those of the units;
    a run's vocabulary reads units it lacks as one `<unk>`, which only differs where a
    reference holds a unit its training data never had.

    Args:
        hypotheses: one output text per row.
        references: each row's reference texts, the first one first (at least one a row).
        units: a text's units for the error rate: `str.split` for symbols separated by
            spaces (the `space` tokenizer: phonemes, words), `list` for characters.

    Returns:
        `{"exact_match", "exact_match_any", "token_error_rate", "token_error_rate_any"}`:
        exact-match against the first reference and against any, the error rate against
        the first reference and against the closest one, as floats.

    Raises:
        ValueError: if the rows differ in number, or a row has no reference.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} outputs against {len(references)} rows of references: "
            "one output a row is needed"
        )
    if any(not refs for refs in references):
        raise ValueError("a row has no reference: each row needs at least one")
    ids: dict[str, int] = {}

    def encode(text):
        return [ids.setdefault(unit, len(ids)) for unit in units(text)]

    hypothesis_units = [encode(h) for h in hypotheses]
    every_units = [tuple(encode(r) for r in refs) for refs in references]
    rows = max(len(hypotheses), 1)
    return {
        "exact_match": sum(h == refs[0] for h, refs in zip(hypotheses, references)) / rows,
        "exact_match_any": sum(h in refs for h, refs in zip(hypotheses, references)) / rows,
        "token_error_rate": token_error_rate(hypothesis_units, [r[0] for r in every_units]),
        "token_error_rate_any": closest_error_rate(hypothesis_units, every_units),
    }
