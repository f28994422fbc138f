"""What a decoding step may not choose: EOS before `min_len` tokens, a token that would
repeat an n-gram of its own hypothesis, a token outside the nucleus of `top_p`.

Each rule takes the step's scores (logits, or beam search's log-probabilities), rows by
vocabulary, and returns them with the forbidden tokens set to `blocked` (-inf unless the
caller needs finite arithmetic, as beam search's sums do). They are graph ops of fixed
shapes, no Python branch on a tensor, so the loops around them stay one `tf.while_loop`
that XLA compiles where it compiled before. Their settings (`TokenRules`, `top_p`) are
Python numbers, fixed when the graph is traced; a rule at its default adds no op.
"""

from dataclasses import dataclass

import tensorflow as tf

from seq2seq.base.tokens import FIRST_SYMBOL_ID
from seq2seq.text.vocabulary import EOS_ID, PAD_ID

#: How far below `top_p` a cumulative probability still counts as reaching it: float32
#: sums of softmax outputs miss exact values (0.5 + 0.3 is not 0.8 there).
NUCLEUS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class TokenRules:
    """The rules every strategy applies at each step, one value through every search.

    Attributes:
        min_len: the fewest tokens before EOS may be emitted (`decoding.min_tokens`); 0
            sets no minimum.
        no_repeat_ngram_size: n > 0 forbids a token that would repeat an n-gram of its own
            hypothesis (`decoding.no_repeat_ngram_size`); 0 allows repeats.
    """

    min_len: int = 0
    no_repeat_ngram_size: int = 0


#: No rule: what a search applies unless told otherwise.
NO_RULES = TokenRules()
#: Each rule and the `decoding.*` key that sets it.
RULE_KEYS = {"min_len": "min_tokens", "no_repeat_ngram_size": "no_repeat_ngram_size"}


def repeated_ngram_tokens(history, t, n: int, vocab):
    """Which tokens would complete an n-gram that a row's history already holds.

    As fairseq's and Hugging Face's `no_repeat_ngram_size`: the row's last n - 1 tokens
    and a candidate make an n-gram; the candidate is blocked if that n-gram occurs
    earlier in the row. BOS is not part of the history.

    Args:
        history: int32 (rows, width): each row's emitted tokens in positions 0 .. t-1
            (what follows is ignored).
        t: int32 scalar: how many tokens each row has emitted.
        n: the n-gram size, >= 1.
        vocab: int32 scalar: the vocabulary's size.

    Returns:
        bool (rows, vocab): True where the token is blocked.
    """
    # One column more, so that the gathers below have a column to read at t = 0.
    history = tf.pad(history, [[0, 0], [0, 1]], constant_values=PAD_ID)
    rows, width = tf.shape(history)[0], tf.shape(history)[1]
    starts = tf.maximum(width - n + 1, 0)  # where an n-gram of the history may start
    # The n-gram starting at i lies within the emitted tokens when i + n - 1 < t.
    matches = tf.broadcast_to(tf.range(starts)[None, :] <= t - n, [rows, starts])
    for j in range(n - 1):  # its first n - 1 tokens are the row's last n - 1
        last = tf.gather(history, tf.maximum(t - n + 1 + j, 0), axis=1)
        matches = tf.logical_and(matches, tf.equal(history[:, j : j + starts], last[:, None]))
    following = history[:, n - 1 : n - 1 + starts]  # the token that completed it
    # Non-matches scatter into a column past the vocabulary, dropped after: fixed shapes.
    columns = tf.where(matches, following, vocab)
    row_ids = tf.broadcast_to(tf.range(rows)[:, None], [rows, starts])
    indices = tf.reshape(tf.stack([row_ids, columns], axis=-1), [-1, 2])
    counts = tf.scatter_nd(indices, tf.ones([rows * starts], tf.int32), [rows, vocab + 1])
    return counts[:, :vocab] > 0


def apply_rules(scores, history, t, rules: TokenRules, blocked=float("-inf")):
    """Forbids EOS while fewer than `min_len` tokens have been emitted, and every token that
    would repeat an n-gram of its row (`repeated_ngram_tokens`); with either rule, PAD and
    BOS too, so that the tokens a rule counts are symbols an output shows.

    A row the n-gram rule leaves no symbol to choose (`no_repeat_ngram_size=1` once every
    symbol came, say) ends there: EOS is its only allowed token, even before `min_len`.
    Every strategy applies this, so greedy, beam and sampling end such a row alike, shorter
    than `min_len`, where they would otherwise have emitted PAD or BOS, or drawn from nothing.

    Args:
        scores: float (rows, vocab): the step's scores.
        history, t: as `repeated_ngram_tokens`.
        rules: the minimum length and the n-gram size.
        blocked: the score a forbidden token gets.

    Returns:
        `scores`, the forbidden tokens' set to `blocked`; `scores` as they are when both
        rules are at their defaults (no op added).
    """
    min_len, n = rules.min_len, rules.no_repeat_ngram_size
    if not min_len and not n:
        return scores
    vocab = tf.shape(scores)[-1]
    ids = tf.range(vocab)[None, :]
    is_eos = tf.equal(ids, EOS_ID)
    special = tf.logical_and(ids < FIRST_SYMBOL_ID, tf.logical_not(is_eos))  # PAD, BOS
    banned = tf.logical_or(special, tf.logical_and(is_eos, t < min_len))
    banned = tf.broadcast_to(banned, tf.shape(scores))
    if n:
        banned = tf.logical_or(banned, repeated_ngram_tokens(history, t, n, vocab))
        stuck = tf.reduce_all(tf.logical_or(banned, is_eos), axis=-1, keepdims=True)
        banned = tf.where(stuck, tf.logical_not(is_eos), banned)
    return tf.where(banned, tf.cast(blocked, scores.dtype), scores)


def nucleus(logits, top_p: float):
    """Keeps the smallest set of most likely tokens whose probability reaches `top_p`.

    The most likely token is always kept; tokens tied with the least likely one kept
    are kept too. A cumulative probability within `NUCLEUS_TOLERANCE` of `top_p` reaches it.

    Args:
        logits: float (rows, vocab), already divided by the temperature (and cut to the
            top k), as the distribution to draw from.
        top_p: in (0, 1]; 1 leaves `logits` as they are.

    Returns:
        `logits`, those outside the nucleus set to -inf.
    """
    if top_p >= 1.0:
        return logits
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")
    probabilities = tf.nn.softmax(tf.cast(ranked, tf.float32), axis=-1)
    before = tf.math.cumsum(probabilities, axis=-1, exclusive=True)  # mass of the better ones
    # The first is kept whatever top_p: a top_p within NUCLEUS_TOLERANCE of 0 would
    # otherwise keep nothing, and a draw from nothing has no token.
    first = tf.equal(tf.range(tf.shape(ranked)[-1]), 0)[None, :]
    kept = tf.logical_or(before < top_p - NUCLEUS_TOLERANCE, first)
    inf = tf.constant(float("inf"), logits.dtype)
    threshold = tf.reduce_min(tf.where(kept, ranked, inf), axis=-1, keepdims=True)
    return tf.where(logits < threshold, -inf, logits)
