"""tf.data pipelines: a split as batches of `(x, y, sample_weight)`.

`x = {"encoder_token_ids", "decoder_token_ids"}`; the decoder reads BOS then the target
(teacher forcing), `y` is the target then EOS, and `sample_weight` is 1 on real target
tokens and EOS, 0 on padding, so that padding never counts in loss or accuracy.
"""

from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from seq2seq.data.splits import Split
from seq2seq.data.vocabulary import BOS_ID, EOS_ID, PAD_ID

Batch = Tuple[Dict[str, np.ndarray], np.ndarray, np.ndarray]


def teacher_forcing_arrays(split: Split) -> Batch:
    """A whole split as model inputs, targets and padding mask.

    Returns:
        `(x, y, sample_weight)` with `x["encoder_token_ids"]` int32 (n, source_len),
        `x["decoder_token_ids"]` and `y` int32 (n, target_len + 1), and
        `sample_weight` float32 (n, target_len + 1).
    """
    n, target_len = split.target_ids.shape
    y = np.full((n, target_len + 1), PAD_ID, dtype=np.int32)
    y[:, :target_len] = split.target_ids
    y[np.arange(n), split.target_lengths] = EOS_ID
    decoder_ids = np.full_like(y, PAD_ID)
    decoder_ids[:, 0] = BOS_ID
    decoder_ids[:, 1:] = split.target_ids
    x = {
        "encoder_token_ids": split.source_ids.astype(np.int32),
        "decoder_token_ids": decoder_ids,
    }
    return x, y, (y != PAD_ID).astype(np.float32)


def training_dataset(
    split: Split, batch_size: int, seed: int, first_epoch: int, epochs: int
) -> tf.data.Dataset:
    """Batches for epochs `first_epoch .. epochs-1`, each a fresh permutation.

    Each epoch's order depends only on `(seed, epoch)`, through a stateless shuffle,
    so a run resumed at epoch k sees exactly the batches an uninterrupted run sees.
    The last batch of an epoch may be smaller.

    Returns:
        A dataset of `ceil(len(split) / batch_size) * (epochs - first_epoch)` batches.
    """
    arrays = teacher_forcing_arrays(split)
    n = len(split)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int32), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(index):
        return tf.nest.map_structure(lambda a: tf.gather(a, index), arrays)

    epochs_ds = tf.data.Dataset.range(first_epoch, epochs)
    return epochs_ds.flat_map(epoch_order).map(gather).prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(split: Split, batch_size: int) -> tf.data.Dataset:
    """The split in its stored order, batched."""
    dataset = tf.data.Dataset.from_tensor_slices(teacher_forcing_arrays(split))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(split: Split, batch_size: int) -> int:
    """Number of batches in one pass over the split."""
    return -(-len(split) // batch_size)
