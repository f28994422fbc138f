"""Which rows go into which batch, epoch by epoch: at random, or grouped by length.

A plan depends only on `(seed, epoch)`, so a resumed run sees the batches an
uninterrupted one sees. Grouping by length (`trainer.group_by_length`) is the pool
method of fairseq and torchtext, done here on NumPy indices so that every epoch has
exactly `ceil(n / batch_size)` batches: the rows are shuffled, cut into pools of
`POOL_BATCHES` batches, each pool is sorted by length and cut into batches, and the
batches are shuffled. A batch then holds sequences of similar length, and little of it
is padding; tf.data's `bucket_by_sequence_length` does the same with fixed buckets, but
leaves a partial batch per bucket at every epoch's end, so the epochs' step counts vary.
"""

import numpy as np

#: The lengths each side of a batch is padded to under XLA (`bucket_width`): this many,
#: evenly spaced up to the split's longest, so that a run compiles at most BUCKETS x
#: BUCKETS graphs (fewer when batches are grouped by length, as source and target lengths
#: go together), and one more per shape for a pass's last, smaller batch.
BUCKETS = 4
#: Batches per pool: large enough to find rows of similar length, small enough that
#: batches still mix rows from the whole split.
POOL_BATCHES = 64


def epoch_plan(
    lengths: np.ndarray, batch_size: int, seed: int, epoch: int, group_by_length: bool
) -> list:
    """The batches of one epoch, as arrays of row indices.

    Args:
        lengths: each row's length (source and target together), for grouping.
        batch_size: rows per batch; the last batch may be smaller.
        seed, epoch: what the order depends on.
        group_by_length: whether batches group rows of similar length.

    Returns:
        `ceil(len(lengths) / batch_size)` arrays of row indices.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    pool = batch_size * POOL_BATCHES
    pools = [order[i : i + pool] for i in range(0, len(order), pool)]
    grouped = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in pools])
    batches = [grouped[i : i + batch_size] for i in range(0, len(grouped), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def padding_share(plan: list, source_lengths: np.ndarray, target_lengths: np.ndarray) -> float:
    """The share of a plan's token slots that are padding, both sides together: each batch
    is padded to its longest source and its longest target."""
    slots = real = 0
    for rows in plan:
        for lengths in (source_lengths[rows], target_lengths[rows]):
            slots += len(rows) * int(lengths.max())
            real += int(lengths.sum())
    return 1.0 - real / max(slots, 1)


def bucket_width(width: int, longest: int, buckets: int = BUCKETS) -> int:
    """The length one side of a batch is padded to under XLA: the smallest of `buckets`
    evenly spaced lengths up to `longest` that holds the batch's longest row.

    Args:
        width: the batch's longest row on this side.
        longest: the split's longest row on this side.
        buckets: how many lengths there are.

    Returns:
        A length in `[width, max(width, longest)]`.
    """
    step = max(1, -(-longest // buckets))
    return max(width, min(longest, -(-width // step) * step))
