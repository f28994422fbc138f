"""Metrics on decoded sequences as their readers judge them: token error rate, BLEU, chrF.

- **token error rate**: the total edit distance (insertions, deletions, substitutions)
  between decoded and reference sequences over the total reference length; its unit is
  the target's symbol (characters for `char`, words or phonemes for `space`: the
  character, phoneme or word error rate), and the detokenized text's characters for
  `subword`, whose pieces are not a unit a reader counts. The distances come from
  TensorFlow's `tf.edit_distance` (Levenshtein, in C++).
- **BLEU** and **chrF**: `sacrebleu`'s corpus scores (0..100) of the detokenized text
  against the reference text, with its default settings, as papers report them.
"""

from collections.abc import Sequence

import numpy as np
import sacrebleu
import tensorflow as tf


def _sparse(sequences: Sequence[Sequence[int]]) -> tf.SparseTensor:
    ragged = tf.ragged.constant([list(s) for s in sequences], dtype=tf.int64, ragged_rank=1)
    return ragged.to_sparse()


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


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU (0..100) of the texts."""
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus chrF (0..100) of the texts."""
    return float(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score)


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
