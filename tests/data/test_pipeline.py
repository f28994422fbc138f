"""The tf.data pipeline: teacher forcing, masked padding, a deterministic order per epoch."""

import numpy as np

from seq2seq.data import pipeline
from seq2seq.data.splits import Split
from seq2seq.data.vocabulary import BOS_ID, EOS_ID, PAD_ID


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
