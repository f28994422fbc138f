"""The reversal task and the vocabulary layout: right targets, deterministic, disjoint splits,
a cache that is checked."""

import numpy as np
import pytest

from seq2seq import compose_config
from seq2seq.data import cache, generated
from seq2seq.data.load import load_task_data
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, FIRST_SYMBOL_ID, PAD_ID, Vocabulary


def task_cfg(*overrides):
    return compose_config(list(overrides)).task


SMALL = ("task.train_size=2000", "task.val_size=300", "task.test_size=300")


def rows(ids):
    return [tuple(int(t) for t in row if t != PAD_ID) for row in ids]


def test_vocabulary_layout():
    vocab = Vocabulary([str(i) for i in range(10)])
    assert (PAD_ID, BOS_ID, EOS_ID, FIRST_SYMBOL_ID) == (0, 1, 2, 3)
    assert vocab.size == 13
    assert vocab.token_id("0") == 3 and vocab.token_id("9") == 12
    assert vocab.decode([1, 6, 4, 2, 5, 0]) == ["3", "1"]


def test_reverse_targets_reverse_each_row_within_its_length():
    sources = np.array([[3, 4, 5, 0, 0], [7, 8, 0, 0, 0], [3, 4, 5, 6, 7]])
    expected = np.array([[5, 4, 3, 0, 0], [8, 7, 0, 0, 0], [7, 6, 5, 4, 3]])
    np.testing.assert_array_equal(generated.reverse_targets(sources), expected)


def test_generated_targets_are_the_reversed_sources():
    data = generated.generate(task_cfg(*SMALL), seed=0)
    for split in ("train", "val", "test"):
        part = data.split(split)
        for source, target in zip(rows(part.source_ids), rows(part.target_ids)):
            assert target == source[::-1]


def test_lengths_and_symbols_stay_in_range():
    cfg = task_cfg(
        *SMALL, "task.min_source_symbols=2", "task.max_source_symbols=7", "task.vocab_size=4"
    )
    data = generated.generate(cfg, seed=1)
    lengths = (data.train.source_ids != PAD_ID).sum(axis=1)
    assert lengths.min() == 2 and lengths.max() == 7
    symbols = data.train.source_ids[data.train.source_ids != PAD_ID]
    assert symbols.min() == FIRST_SYMBOL_ID and symbols.max() == FIRST_SYMBOL_ID + 3
    # Padding only at the end: no real token after a PAD.
    real = data.train.source_ids != PAD_ID
    assert not np.any(~real[:, :-1] & real[:, 1:])


def test_same_seed_same_data_other_seed_other_data():
    cfg = task_cfg(*SMALL)
    first, again, other = (generated.generate(cfg, seed) for seed in (3, 3, 4))
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(first.split(split).source_ids, again.split(split).source_ids)
    assert not np.array_equal(first.train.source_ids, other.train.source_ids)


def test_splits_are_disjoint_and_held_out_sequences_distinct():
    # A small space (4 + 16 + 64 sequences) makes collisions likely if unchecked.
    cfg = task_cfg(
        "task.vocab_size=4",
        "task.min_source_symbols=1",
        "task.max_source_symbols=3",
        "task.train_size=3000",
        "task.val_size=20",
        "task.test_size=20",
    )
    data = generated.generate(cfg, seed=0)
    train, val, test = (set(rows(data.split(s).source_ids)) for s in ("train", "val", "test"))
    assert len(val) == 20 and len(test) == 20
    assert not (train & val) and not (train & test) and not (val & test)
    # Held-out sequences take at most half of each length: training sees every length.
    held_out_by_length = np.bincount([len(r) for r in val | test], minlength=4)
    assert all(held_out_by_length[n] <= 4**n // 2 for n in (1, 2, 3))
    assert {len(r) for r in train} == {1, 2, 3}


def test_dataset_is_cached_and_reused(tmp_path):
    cfg = task_cfg(*SMALL)
    data, path = load_task_data(cfg, 0, str(tmp_path))
    assert path.parent == tmp_path / "reverse" and path.exists()
    stamp = path.stat().st_mtime_ns
    again, same_path = load_task_data(cfg, 0, str(tmp_path))
    assert same_path == path and path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.train.source_ids, data.train.source_ids)
    assert again.vocabs.source == data.vocabs.source and again.vocabs.is_shared


def test_cache_is_keyed_by_the_task_parameters(tmp_path):
    paths = {
        cache.cache_path(task_cfg(*overrides), seed, str(tmp_path))
        for overrides, seed in [
            ((), 0),
            ((), 1),
            (("task.vocab_size=11",), 0),
            (("task.max_source_symbols=9",), 0),
            (("task.train_size=5",), 0),
        ]
    }
    assert len(paths) == 5


@pytest.mark.parametrize("damage", ["truncate", "flip_byte"])
def test_damaged_cache_is_detected_and_regenerated(tmp_path, damage, caplog):
    cfg = task_cfg(*SMALL)
    data, path = load_task_data(cfg, 0, str(tmp_path))
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        # np.savez stores arrays uncompressed: a byte in the middle is array data.
        raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError):
        cache.load(path)
    again, _ = load_task_data(cfg, 0, str(tmp_path))
    assert "Regenerating" in caplog.text
    np.testing.assert_array_equal(again.train.source_ids, data.train.source_ids)
    cache.load(path)  # whole again


def test_validation_and_test_both_cover_every_length():
    # Length 2 has only 36 sequences, capped at 18 held out: both splits still get some.
    cfg = task_cfg(
        "task.vocab_size=6", "task.min_source_symbols=2", "task.max_source_symbols=6",
        "task.train_size=500", "task.val_size=200", "task.test_size=200",
    )  # fmt: skip
    data = generated.generate(cfg, seed=0)
    for split in (data.val, data.test):
        assert set(np.unique(split.target_lengths)) == {2, 3, 4, 5, 6}
