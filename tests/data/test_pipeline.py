"""The tf.data pipeline: teacher forcing, masked padding, a deterministic order per epoch."""

import numpy as np

from seq2seq.data import pipeline
from seq2seq.data.splits import Split
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, PAD_ID


def small_split():
    sources = np.array([[3, 4, 5], [6, 7, 0], [8, 0, 0]], dtype=np.int32)
    return Split(sources, np.array([[5, 4, 3], [7, 6, 0], [8, 0, 0]], dtype=np.int32))


def test_teacher_forcing_arrays():
    x, y, weight = pipeline.teacher_forcing_arrays(small_split())
    np.testing.assert_array_equal(x["encoder_token_ids"], small_split().source_ids)
    np.testing.assert_array_equal(
        x["decoder_token_ids"], [[BOS_ID, 5, 4, 3], [BOS_ID, 7, 6, 0], [BOS_ID, 8, 0, 0]]
    )
    np.testing.assert_array_equal(y, [[5, 4, 3, EOS_ID], [7, 6, EOS_ID, 0], [8, EOS_ID, 0, 0]])
    # Padding weighs nothing; every real token and the EOS weigh one.
    np.testing.assert_array_equal(weight, (y != PAD_ID).astype(np.float32))
    np.testing.assert_array_equal(weight.sum(axis=1), [4, 3, 2])


def batches(dataset):
    return [b[1].numpy() for b in dataset]


def test_each_epoch_is_a_permutation_that_depends_only_on_seed_and_epoch():
    split = Split(np.arange(3, 3 + 50, dtype=np.int32)[:, None], np.zeros((50, 1), np.int32) + 3)
    x_of = lambda ds: [b[0]["encoder_token_ids"].numpy()[:, 0] for b in ds]  # noqa: E731
    full = x_of(pipeline.training_dataset(split, 16, seed=5, first_epoch=0, epochs=3))
    assert len(full) == 3 * pipeline.steps_per_epoch(split, 16) == 12
    epochs = [np.concatenate(full[i * 4 : (i + 1) * 4]) for i in range(3)]
    for epoch in epochs:
        assert sorted(epoch.tolist()) == list(range(3, 53))
    assert not np.array_equal(epochs[0], epochs[1])
    resumed = x_of(pipeline.training_dataset(split, 16, seed=5, first_epoch=2, epochs=3))
    np.testing.assert_array_equal(np.concatenate(resumed), epochs[2])
    other_seed = x_of(pipeline.training_dataset(split, 16, seed=6, first_epoch=0, epochs=1))
    assert not np.array_equal(np.concatenate(other_seed), epochs[0])


def test_evaluation_dataset_keeps_order():
    split = small_split()
    ((x, y, weight),) = list(pipeline.evaluation_dataset(split, batch_size=8))
    np.testing.assert_array_equal(x["encoder_token_ids"].numpy(), split.source_ids)
    assert y.shape == (3, 4) and weight.shape == (3, 4)


def _sources(dataset) -> list:
    return [b[0]["encoder_token_ids"].numpy()[:, 0].tolist() for b in dataset]


def _epoch_through_fit_order(batches, epoch) -> list:
    """The batches `EpochBatches` gives Keras for `epoch`, as `fit` would read them."""
    batches.on_epoch_begin(epoch)
    return _sources(batches.dataset)


def test_epochs_of_n_steps_read_the_stream_of_passes_in_order():
    # 50 rows in batches of 16: passes of 4 batches (the last of 2 rows); epochs of 3 steps
    # cut across them, and each epoch carries on where the one before stopped.
    lengths = np.arange(50) % 7 + 1
    split = Split(
        np.arange(3, 53, dtype=np.int32)[:, None] * (np.arange(7)[None, :] < lengths[:, None]),
        np.zeros((50, 1), np.int32) + 3,
    )
    for grouped in (False, True):
        passes = _sources(pipeline.training_dataset(split, 16, 5, 0, 3, grouped))
        assert len(passes) == 12  # three passes of 4 batches
        stream = pipeline.EpochBatches(split, 16, seed=5, group_by_length=grouped, steps=3)
        assert stream.steps == 3
        epochs = [_epoch_through_fit_order(stream, e) for e in range(4)]
        assert sum(epochs, []) == passes, grouped
        # The multi-worker loop's stream, from a resumed epoch, is the same batches.
        resumed = _sources(pipeline.training_dataset(split, 16, 5, 2, 4, grouped, steps=3))
        assert resumed == epochs[2] + epochs[3], grouped
        # Epochs of one pass are the passes, as without `steps`.
        whole = pipeline.EpochBatches(split, 16, seed=5, group_by_length=grouped)
        assert _epoch_through_fit_order(whole, 1) == passes[4:8], grouped
