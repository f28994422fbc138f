"""How many tokens to decode for each source: one bound, fitted to the training data, that
validation, `evaluate`, `predict` and both SavedModel signatures share.

The bound of a source of n tokens is `ceil(slope * n + intercept)` tokens, EOS included.
`fit` takes it from the training pairs' lengths, as fairseq's `max_len_a * n + max_len_b`
and Sockeye's length ratio do, but from the data instead of a constant:

- `a`, the ratio of the total target length to the total source length (1 for reversal,
  6 for a source repeated six times);
- `b`, the largest `target_len - a * source_len` over the training pairs: every training
  target fits under `a * n + b`;
- a margin: the slope grows by `MARGIN_SHARE` and the intercept by `MARGIN_TOKENS`, so
  that a held-out target a little longer than any seen still fits and an output that runs
  on past its reference shows in the metrics as longer; then 1 for EOS.

A linear bound extrapolates to sources longer than any trained on (`evaluate`'s
length-generalization split), where a table of the longest target per source length
would have no entry. Decoding stops once every row has ended, so a bound a little too
generous costs only the rows that never end.

Slope and intercept are kept in thousandths, and the bound computed in integers
(`(S * n + I + 999) // 1000`), so that numpy and the SavedModel's graph give the same
bound for every n, which floating point would not promise at the ceiling (1.1 * 10 is
11.000000000000002 in float64).

Each row is cut at its own bound after the batch is decoded up to the largest of them: an
output never depends on the batch it was decoded in. An output without EOS within its
bound has been cut short: it is `truncated`, and every command reports how many were.
"""

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import LENGTH_BOUND_FILE
from seq2seq.text.vocabulary import EOS_ID, PAD_ID

log = logging.getLogger(__name__)

#: The margin over the fitted line: a share of the slope and a number of tokens.
MARGIN_SHARE = 0.1
MARGIN_TOKENS = 2
#: Fixed-point scale of slope and intercept.
SCALE = 1000


@dataclass(frozen=True)
class LengthBound:
    """`bound(n) = ceil((slope_milli * n + intercept_milli) / 1000)` tokens, EOS included.

    Attributes:
        slope_milli, intercept_milli: slope and intercept in thousandths (integers).
        origin: where it comes from, for reports: `training data`, `decoding.max_tokens`, or
            `default` (a run saved before bounds were).
        fitted: what `fit` measured (`ratio`, `residual`, the pairs, the margin), or None.
    """

    slope_milli: int
    intercept_milli: int
    origin: str = "training data"
    fitted: dict | None = None

    @classmethod
    def linear(cls, slope: float, intercept: float, origin: str, fitted=None) -> "LengthBound":
        """A bound from a slope and an intercept, each rounded up to a thousandth."""
        return cls(_milli(slope), _milli(intercept), origin, fitted)

    @classmethod
    def fixed(cls, max_len: int) -> "LengthBound":
        """The same bound, `max_len` tokens, for every source (`decoding.max_tokens`)."""
        return cls(0, max_len * SCALE, "decoding.max_tokens")

    @property
    def slope(self) -> float:
        return self.slope_milli / SCALE

    @property
    def intercept(self) -> float:
        return self.intercept_milli / SCALE

    def describe(self) -> str:
        """The bound in words, for tables and messages."""
        if self.slope_milli == 0:
            return f"{self.intercept:g} tokens ({self.origin})"
        return f"ceil({self.slope:g} n + {self.intercept:g}) tokens for n source tokens ({self.origin})"

    def rows(self, source_lengths) -> np.ndarray:
        """The bound of each source length, int64, at least 1."""
        n = np.asarray(source_lengths, np.int64)
        return np.maximum((self.slope_milli * n + self.intercept_milli + SCALE - 1) // SCALE, 1)

    def tensor(self, source_lengths: tf.Tensor) -> tf.Tensor:
        """`rows` as graph ops on int32 lengths (batch,): int32 bounds, the same integers."""
        n = tf.cast(source_lengths, tf.int64)
        bound = (self.slope_milli * n + self.intercept_milli + SCALE - 1) // SCALE
        return tf.cast(tf.maximum(bound, 1), tf.int32)

    def to_json(self) -> dict:
        """What the run's `length_bound.json` holds."""
        saved = {"slope": self.slope, "intercept": self.intercept, "origin": self.origin}
        return saved if self.fitted is None else {**saved, "fitted": self.fitted}

    def save(self, run_dir) -> None:
        """Writes `length_bound.json` into the run directory."""
        text = json.dumps(self.to_json(), indent=2) + "\n"
        atomic_write_text(Path(run_dir) / LENGTH_BOUND_FILE, text)

    @classmethod
    def from_json(cls, saved: dict) -> "LengthBound":
        """The bound `to_json` wrote."""
        return cls.linear(saved["slope"], saved["intercept"], saved.get("origin", "training data"),
                          saved.get("fitted"))  # fmt: skip


#: What runs saved before the bound was get: twice the source plus two, the old default.
DEFAULT = LengthBound(2 * SCALE, 2 * SCALE, "default")


def _milli(value: float) -> int:
    # Rounded up (after removing float noise below a millionth), so the bound never shrinks.
    return int(math.ceil(round(value * SCALE, 3)))


def fit(source_lengths, target_lengths) -> LengthBound:
    """The bound of a run, from its training pairs' lengths (see the module docstring).

    Args:
        source_lengths, target_lengths: tokens of each training pair's source and target
            (EOS not counted), e.g. a `Split`'s or `RaggedSplit`'s arrays.

    Returns:
        The bound: every training target, with its EOS, fits within its source's bound.
    """
    sources = np.asarray(source_lengths, np.float64)
    targets = np.asarray(target_lengths, np.float64)
    total_source = sources.sum()
    ratio = float(targets.sum() / total_source) if total_source else 0.0
    residual = float((targets - ratio * sources).max(initial=0.0))
    fitted = {
        "ratio": round(ratio, 6),
        "residual": round(residual, 6),
        "pairs": len(sources),
        "longest_source": int(sources.max(initial=0)),
        "longest_target": int(targets.max(initial=0)),
        "margin": {"share": MARGIN_SHARE, "tokens": MARGIN_TOKENS},
    }
    slope = ratio * (1 + MARGIN_SHARE)
    return LengthBound.linear(slope, residual + MARGIN_TOKENS + 1, "training data", fitted)


def widest(bound: LengthBound, other: LengthBound | None) -> LengthBound:
    """A bound no narrower than either: the larger slope and the larger intercept (for
    a fine-tuned run, its own bound and its parent's). `other` None leaves `bound`."""
    if other is None:
        return bound
    slope = max(bound.slope_milli, other.slope_milli)
    intercept = max(bound.intercept_milli, other.intercept_milli)
    if (slope, intercept) == (bound.slope_milli, bound.intercept_milli):
        return bound
    fitted = {**(bound.fitted or {}), "widened_to": other.to_json()}
    return LengthBound(slope, intercept, bound.origin, fitted)


def load(run_dir) -> LengthBound | None:
    """The bound a run saved, or None for a run saved before bounds were.

    Raises:
        ValueError, KeyError, OSError: for a damaged file.
    """
    path = Path(run_dir) / LENGTH_BOUND_FILE
    if not path.is_file():
        return None
    return LengthBound.from_json(json.loads(path.read_text()))


def chosen(saved: LengthBound | None, max_len: int | None, run_dir="") -> LengthBound:
    """The bound a command decodes with: `decoding.max_tokens` when set, else the run's; a run
    saved before bounds were gets `DEFAULT`, with a warning that says so."""
    if max_len is not None:
        return LengthBound.fixed(max_len)
    if saved is not None:
        return saved
    # The commands configure no logging: Python's last-resort handler prints the message
    # alone on stderr, hence the "warning:" of predict's other warning lines.
    log.warning(
        "warning: %s has no %s (a run saved before length bounds were): decoding up to "
        "twice the source plus two tokens; set decoding.max_tokens=N to choose",
        run_dir or "the run", LENGTH_BOUND_FILE,
    )  # fmt: skip
    return DEFAULT


def source_lengths(token_ids: tf.Tensor) -> tf.Tensor:
    """Tokens of each source of a batch padded with PAD, int32 (batch,)."""
    return tf.reduce_sum(tf.cast(tf.not_equal(token_ids, PAD_ID), tf.int32), axis=1)


def cut(decoded: tf.Tensor, bounds: tf.Tensor) -> tuple:
    """Each row cut at its own bound: PAD from position `bound` on.

    Args:
        decoded: int32 (batch, max_len) or (batch, n_best, max_len) decoded ids.
        bounds: int32 (batch,), each row's bound.

    Returns:
        `(decoded, truncated)`: the cut ids, same shape, and whether each row (or
        hypothesis) has no EOS within its bound, bool (batch,) or (batch, n_best).
    """
    positions = tf.range(tf.shape(decoded)[-1])
    limit = bounds[:, None] if decoded.shape.rank == 2 else bounds[:, None, None]
    decoded = tf.where(positions < limit, decoded, tf.constant(PAD_ID, decoded.dtype))
    truncated = tf.logical_not(tf.reduce_any(tf.equal(decoded, EOS_ID), axis=-1))
    return decoded, truncated


def bounded(decode_fn, token_ids: tf.Tensor, bound: LengthBound) -> tuple:
    """Decodes a batch up to its largest row bound, then cuts each row at its own.

    Args:
        decode_fn: `(token_ids, max_len) -> decoded ids`, (batch, [n_best,] max_len).
        token_ids: int32 (batch, source_len) sources padded with PAD.
        bound: the length bound.

    Returns:
        `(decoded, truncated)` as `cut` returns them; rows are PAD beyond their bound.
    """
    bounds = bound.tensor(source_lengths(token_ids))
    max_len = tf.reduce_max(tf.concat([bounds, [1]], 0))  # 1 for an empty batch
    return cut(decode_fn(token_ids, max_len), bounds)
