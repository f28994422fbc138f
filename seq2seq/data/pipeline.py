"""tf.data pipelines: a split as batches of `(x, y, sample_weight)`.

`x = {"encoder_token_ids", "decoder_token_ids"}`; the decoder reads BOS then the target
(teacher forcing), `y` is the target then EOS, and `sample_weight` is 1 on real target
tokens and EOS, 0 on padding, so that padding never counts in loss or accuracy.

Training batches come one of two ways (`EpochBatches`): a split in memory shuffled at
random is gathered inside the graph; a split on disk (`RaggedSplit`), or any split
grouped by length (`batching.epoch_plan`), is batched in NumPy and handed to tf.data by
`from_generator`, each batch padded only to its own longest sequences.
"""

import logging

import keras
import numpy as np
import tensorflow as tf

from seq2seq.data.batching import bucket_width, epoch_plan
from seq2seq.data.splits import RaggedSplit, Split
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, PAD_ID

log = logging.getLogger(__name__)

Batch = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]
#: The shapes of a batch, for datasets made from Python.
BATCH_SIGNATURE = (
    {
        "encoder_token_ids": tf.TensorSpec((None, None), tf.int32),
        "decoder_token_ids": tf.TensorSpec((None, None), tf.int32),
    },
    tf.TensorSpec((None, None), tf.int32),
    tf.TensorSpec((None, None), tf.float32),
)


def teacher_forcing(source_ids: np.ndarray, target_ids: np.ndarray) -> Batch:
    """Padded sources and targets as model inputs, targets and padding mask.

    Returns:
        `(x, y, sample_weight)` with `x["encoder_token_ids"]` int32 (n, source_len),
        `x["decoder_token_ids"]` and `y` int32 (n, target_len + 1), and
        `sample_weight` float32 (n, target_len + 1).
    """
    n, target_len = target_ids.shape
    y = np.full((n, target_len + 1), PAD_ID, dtype=np.int32)
    y[:, :target_len] = target_ids
    y[np.arange(n), (target_ids != PAD_ID).sum(axis=1)] = EOS_ID
    decoder_ids = np.full_like(y, PAD_ID)
    decoder_ids[:, 0] = BOS_ID
    decoder_ids[:, 1:] = target_ids
    x = {"encoder_token_ids": np.asarray(source_ids, np.int32), "decoder_token_ids": decoder_ids}
    return x, y, (y != PAD_ID).astype(np.float32)


def teacher_forcing_arrays(split: Split) -> Batch:
    """A whole split in memory as model inputs, targets and padding mask (`teacher_forcing`)."""
    return teacher_forcing(split.source_ids, split.target_ids)


#: Batches made ahead of the model: a batch here is a gather from arrays in memory.
PREFETCH = 2


def prefetched(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The dataset with `PREFETCH` batches made ahead, and tf.data's autotuning off.

    Autotuning runs a thread that sleeps between rounds for a period that doubles up to
    a minute, and deleting an iterator waits for it: `fit` took up to 13 s to return
    after its last epoch on a 2-core AMD EPYC (33 s on an Intel Xeon) in about one run
    in two, waiting in `RootDataset::Iterator`'s destructor (seen with py-spy). These
    pipelines have nothing to tune; with autotuning off, 4 runs of 4 had no wait.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(PREFETCH).with_options(options)


def _batches_of_epoch(split: Split, batch_size: int, seed: int):
    """`epoch -> dataset of that epoch's batches`, in an order that depends only on
    `(seed, epoch)` (a stateless shuffle), so that a resumed run sees the same batches."""
    arrays = teacher_forcing_arrays(split)
    n = len(split)

    # tf.data would convert these with autograph (about 0.2 s of each process's first
    # epoch) though they hold no Python control flow on tensors.
    @tf.autograph.experimental.do_not_convert
    def gather(index):
        return tf.nest.map_structure(lambda a: tf.gather(a, index), arrays)

    @tf.autograph.experimental.do_not_convert
    def batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int32), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).map(gather)

    return batches


def _gathered_window(split: Split, batch_size: int, seed: int, start, count) -> tf.data.Dataset:
    """Batches `start .. start + count - 1` of the stream of passes over an in-memory split
    at random, each pass in `_batches_of_epoch`'s order; `start` may be a tensor."""
    per_pass = steps_per_epoch(split, batch_size)
    start = tf.cast(start, tf.int64)
    first_pass = start // per_pass
    last_pass = (start + count - 1) // per_pass
    passes = tf.data.Dataset.range(first_pass, last_pass + 1)
    batches = _batches_of_epoch(split, batch_size, seed)
    return passes.flat_map(batches).skip(start - first_pass * per_pass).take(count)


def planned_window(
    lengths: np.ndarray, batch_size: int, seed: int, group_by_length: bool, start: int, count: int,
    mix=None,
):  # fmt: skip
    """The row indices of batches `start .. start + count - 1` of the stream of passes,
    each pass planned by `batching.epoch_plan` for its own number, over the rows `mix`
    (`file_mix.FileMix`) draws for it, if any."""
    per_pass = -(-len(lengths) // batch_size)
    step, stop = start, start + count
    while step < stop:
        number, offset = divmod(step, per_pass)
        rows = None if mix is None else mix.rows(number)
        plan = epoch_plan(
            lengths if rows is None else lengths[rows], batch_size, seed, number, group_by_length
        )
        batches = plan[offset : offset + stop - step]
        yield from batches if rows is None else (rows[batch] for batch in batches)
        step = (number + 1) * per_pass


def training_dataset(
    split: Split | RaggedSplit, batch_size: int, seed: int, first_epoch: int, epochs: int,
    group_by_length: bool = False, steps: int | None = None,
) -> tf.data.Dataset:  # fmt: skip
    """Batches for epochs `first_epoch .. epochs-1` in one stream, each epoch's batches as
    `EpochBatches` makes them.

    For loops that count their own steps (the multi-worker loop); Keras' `fit` takes
    `EpochBatches`, whose epochs stay whole whatever the steps per call.

    Args:
        steps: batches per epoch (`trainer.steps_per_epoch`); None: one pass.

    Returns:
        A dataset of `steps * (epochs - first_epoch)` batches.
    """
    steps = steps or steps_per_epoch(split, batch_size)
    start, count = first_epoch * steps, (epochs - first_epoch) * steps
    if isinstance(split, Split) and not group_by_length:
        return prefetched(_gathered_window(split, batch_size, seed, start, count))
    lengths = split.source_lengths + split.target_lengths

    def planned():
        for rows in planned_window(
            lengths, batch_size, seed, group_by_length, start, count, getattr(split, "mix", None)
        ):  # fmt: skip
            yield teacher_forcing(*split.pad_rows(rows))

    return prefetched(tf.data.Dataset.from_generator(planned, output_signature=BATCH_SIGNATURE))


class EpochBatches(keras.callbacks.Callback):
    """One epoch's batches at a time for `model.fit`, with the callback that picks the epoch.

    `fit` with `steps_per_epoch` reads one stream across epochs in whole calls of
    `steps_per_execution` steps, so an epoch whose step count is not a multiple eats
    into the next. Given a dataset of exactly one epoch (its length known) and no
    `steps_per_epoch`, Keras starts a fresh iterator each epoch and ends the last call
    of the epoch early, when the data runs out: every epoch trains exactly its steps.
    The batches of the epoch Keras is about to read are set when the epoch begins (put
    this callback first among the callbacks).

    An epoch is one pass over the split, or `steps` batches of the stream of passes
    (each pass in its own order), so that validation, early stopping and checkpoints
    come every `steps` steps; epoch k then reads batches `k * steps ..` of the stream,
    which depend only on the seed: a resumed run sees the batches an uninterrupted one
    sees either way.

    Args:
        split: the training split, in memory (`Split`) or on disk (`RaggedSplit`).
        batch_size: sequences per batch; a pass's last batch may be smaller.
        seed: with the pass, fixes the order of the batches.
        group_by_length: batches of sequences of similar length (`batching.epoch_plan`).
        steps: batches per epoch (`trainer.steps_per_epoch`); None: one pass.
        bucketed: pad the batches that are padded to their own longest rows further, to
            one of a few lengths per side (`batching.bucket_width`): under XLA, which
            compiles the step again for every new shape.

    Attributes:
        dataset: what to pass to `fit` as its data.
        steps: batches (optimizer steps) per epoch.
    """

    def __init__(
        self, split: Split | RaggedSplit, batch_size: int, seed: int,
        group_by_length: bool = False, steps: int | None = None, bucketed: bool = False,
    ):  # fmt: skip
        super().__init__()
        self.bucketed = bucketed
        self.steps = steps or steps_per_epoch(split, batch_size)
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.group_by_length = group_by_length
        self.epoch, self.drawn = 0, 0
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="data_epoch")
        if isinstance(split, Split) and not group_by_length:
            dataset = tf.data.Dataset.range(1).flat_map(
                tf.autograph.experimental.do_not_convert(
                    lambda _: _gathered_window(
                        split, batch_size, seed, self._epoch.read_value() * self.steps, self.steps
                    )
                )
            )
        else:
            self._lengths = split.source_lengths + split.target_lengths
            dataset = tf.data.Dataset.from_generator(
                self._planned, output_signature=BATCH_SIGNATURE
            )
        self.dataset = prefetched(
            dataset.apply(tf.data.experimental.assert_cardinality(self.steps))
        )

    def _planned(self):
        """This epoch's batches, planned in NumPy, each padded to its own longest rows."""
        mix = getattr(self.split, "mix", None)
        for rows in planned_window(
            self._lengths, self.batch_size, self.seed, self.group_by_length,
            self.epoch * self.steps, self.steps, mix,
        ):  # fmt: skip
            if mix is not None:
                self.drawn += np.bincount(mix.file_of(rows), minlength=len(mix.sizes))
            source, target = self.split.pad_rows(rows)
            if self.bucketed:
                source, target = (
                    _to_buckets(source, self.split.source_lengths),
                    _to_buckets(target, self.split.target_lengths),
                )
            yield teacher_forcing(source, target)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._epoch.assign(epoch)
        self.drawn = 0

    def on_epoch_end(self, epoch, logs=None):
        if getattr(self.split, "mix", None) is not None:  # task.train_weights
            log.info("Epoch %d drew %s pairs from the training files, in order", epoch + 1,
                     " + ".join(str(int(n)) for n in np.atleast_1d(self.drawn)))  # fmt: skip


def _to_buckets(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`ids` (rows, width) padded on the right to `batching.bucket_width` of its width."""
    width = bucket_width(ids.shape[1], int(lengths.max(initial=1)))
    return np.pad(ids, [(0, 0), (0, width - ids.shape[1])], constant_values=PAD_ID)


def evaluation_dataset(split: Split, batch_size: int) -> tf.data.Dataset:
    """The split in its stored order, batched."""
    dataset = tf.data.Dataset.from_tensor_slices(teacher_forcing_arrays(split))
    return prefetched(dataset.batch(batch_size))


def steps_per_epoch(split: Split | RaggedSplit, batch_size: int) -> int:
    """Number of batches in one pass over the split."""
    return -(-len(split) // batch_size)
