"""Real data in: a tokenizer per side (subwords too), files of their own for validation and
test, training files streamed into a store and batched by length, maximum lengths; every
new key refuses a bad value before TensorFlow loads."""

import gc
import json
import os
import random
import tracemalloc

import numpy as np
import pytest

from conftest import error_lines, imported_modules, run_script, write_pairs
from seq2seq import ConfigError, compose_config, validate
from seq2seq.data import batching, tsv
from seq2seq.text.vocabulary import Vocabularies

WORDS = "the a cat dog bird sees chases likes small big red old new house tree".split()


def sentences(path, count, seed=0, start=0, shortest=3, longest=8):
    """`count` lines of sentences and their reversal, word by word."""
    rng = random.Random(seed)
    lines = []
    for i in range(start, start + count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(shortest, longest))] + [f"n{i % 50}"]
        lines.append(f"{' '.join(words)}\t{' '.join(reversed(words))}")
    path.write_text("\n".join(lines) + "\n")
    return path


def task(path, *overrides):
    return compose_config(
        ["task=tsv", f"task.path={path}", "task.val_size=20", "task.test_size=20", *overrides]
    ).task


# --- tokenizers per side ---------------------------------------------------------------


def test_each_side_has_its_own_vocabulary_by_default(tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", 200)
    data = tsv.load(task(path, "task.source_tokenizer=char"), 0, tmp_path)
    assert not data.vocabs.is_shared
    assert data.vocabs.source.tokenizer == "char" and data.vocabs.target.tokenizer == "space"
    assert " " in data.vocabs.source.symbols and " " not in data.vocabs.target.symbols


def test_shared_vocab_is_one_vocabulary_for_both_sides(tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", 200)
    data = tsv.load(task(path, "task.shared_vocab=true"), 0, tmp_path)
    assert data.vocabs.is_shared


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_subwords_are_trained_on_the_training_split_and_detokenize(tmp_path, kind):
    path = sentences(tmp_path / "pairs.tsv", 400)
    data = tsv.load(task(path, "task.tokenizer=subword", f"task.subword_type={kind}",
                         "task.source_vocab_size=60", "task.target_vocab_size=60"), 0, tmp_path)  # fmt: skip
    for vocab in (data.vocabs.source, data.vocabs.target):
        assert vocab.tokenizer == "subword" and 20 < vocab.size <= 60
        text = "the small cat chases a red bird n7"
        assert len(vocab.split(text)) > 1
        assert vocab.decode_text(vocab.encode_text(text) + [2]) == text
    # Held-out text the model never saw still tokenizes; references stay as written.
    assert data.test.target_texts == tuple(t for _, t in data.held_out_text["test"])


def test_a_runs_vocabularies_and_subword_models_are_saved_and_read_back(tmp_path):
    path = sentences(tmp_path / "pairs.tsv", 300)
    vocabs = tsv.load(
        task(path, "task.source_tokenizer=subword", "task.source_vocab_size=50"), 0, tmp_path
    ).vocabs
    vocabs.save(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "source.spm.model",
        "vocab.json",
    ]
    again = Vocabularies.load(tmp_path / "run" / "vocab.json")
    assert again.source.tokens == vocabs.source.tokens and again.target == vocabs.target
    assert again.source.encode_text("the cat n3") == vocabs.source.encode_text("the cat n3")


# --- your own splits ------------------------------------------------------------------


def test_validation_and_test_files_are_used_whole_and_their_sources_never_train(tmp_path):
    train = write_pairs(tmp_path / "train.tsv", 300)
    val = write_pairs(tmp_path / "val.tsv", 30, start=1000)
    test = write_pairs(tmp_path / "test.tsv", 40, start=2000)
    with open(train, "a") as f:  # one source of the test file, in training too
        f.write(test.read_text().splitlines()[0] + "\n")
    data = tsv.load(task(train, f"task.val_path={val}", f"task.test_path={test}"), 0, tmp_path)
    assert (len(data.val), len(data.test), len(data.train)) == (30, 40, 300)
    assert data.record["held_out_sources_left_out_of_training"] == 1
    assert set(data.record["files"]) == {"train", "val", "test"}


def test_only_the_split_without_a_file_is_cut_from_training(tmp_path):
    train = write_pairs(tmp_path / "train.tsv", 300)
    test = write_pairs(tmp_path / "test.tsv", 40, start=2000)
    data = tsv.load(task(train, f"task.test_path={test}"), 0, tmp_path)
    assert (len(data.val), len(data.test), len(data.train)) == (20, 40, 280)


# --- files of any size ------------------------------------------------------------------


def peak_memory_of_loading(path, data_dir):
    gc.collect()
    tracemalloc.start()
    data = tsv.load(task(path), 0, data_dir)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return data, peak


@pytest.mark.slow  # about 5 s: keeps make test-fast under 2 minutes
def test_a_training_file_streams_into_a_store_on_disk(tmp_path):
    """The file is never in memory whole: four times the lines (1.3 kB each) raise the peak
    of Python's memory while the file is read, split, counted and stored by a small part
    of what they add to the file (its bookkeeping: 50 bytes or so a line)."""
    small = sentences(tmp_path / "small.tsv", 1_000, shortest=120, longest=160)
    large = sentences(tmp_path / "large.tsv", 4_000, shortest=120, longest=160)
    # The lower of two loads each, into stores of their own: tracemalloc counts what the
    # worker's other thread allocates meanwhile, and one load of the large file in a run of
    # the suite peaked 1.05 MB above the small one's (0.39 MB allowed; alone, it passes).
    _, small_peak = min(
        (peak_memory_of_loading(small, tmp_path / f"small{i}") for i in range(2)),
        key=lambda loaded: loaded[1],
    )
    data, large_peak = min(
        (peak_memory_of_loading(large, tmp_path / f"data{i}") for i in range(2)),
        key=lambda loaded: loaded[1],
    )
    added = os.path.getsize(large) - os.path.getsize(small)
    assert large_peak - small_peak < added / 10, (small_peak, large_peak, added)
    assert isinstance(data.train.source_ids, np.memmap) and len(data.train) == 4_000 - 40
    again = tsv.load(task(large), 0, tmp_path / "data0")  # the store is cached and read back
    np.testing.assert_array_equal(again.train.target_offsets, data.train.target_offsets)


def test_batches_grouped_by_length_cut_the_padding_and_keep_every_epoch_whole():
    rng = np.random.default_rng(0)
    source = rng.integers(1, 60, 5000)
    target = source + rng.integers(0, 3, 5000)  # a target about as long as its source
    random_plan = batching.epoch_plan(source + target, 64, seed=0, epoch=0, group_by_length=False)
    grouped = batching.epoch_plan(source + target, 64, seed=0, epoch=0, group_by_length=True)
    assert len(grouped) == len(random_plan) == -(-5000 // 64)
    assert sorted(np.concatenate(grouped).tolist()) == list(range(5000))
    before, after = (batching.padding_share(p, source, target) for p in (random_plan, grouped))
    assert after < before / 4, (before, after)
    again = batching.epoch_plan(source + target, 64, seed=0, epoch=0, group_by_length=True)
    assert all(np.array_equal(a, b) for a, b in zip(grouped, again))


def test_pairs_longer_than_the_maximum_are_left_out_and_counted(tmp_path, caplog):
    path = sentences(tmp_path / "pairs.tsv", 400)
    data = tsv.load(task(path, "task.max_train_source_symbols=6"), 0, tmp_path)
    assert data.train.source_lengths.max() <= 6
    assert data.record["too_long_left_out"] > 0
    assert (
        "training pairs longer than task.max_train_source_symbols / max_train_target_symbols left out"
        in caplog.text
    )


# --- bad values of the new keys, before TensorFlow loads ----------------------------------


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["task.source_tokenizer=bytes"], "task.source_tokenizer='bytes': allowed: char, space, subword"),
        (["task.tokenizer=subword", "task.source_vocab_size=10"],
         "task.source_vocab_size=10: the text has 29 distinct characters, and a subword vocabulary needs a piece for each and 4 special ones; allowed: at least 33"),
        (["task.target_vocab_size=100"], "task.target_vocab_size=100: applies to a subword tokenizer; this side's is space; leave it null"),
        (["task.max_train_target_symbols=0"], "task.max_train_target_symbols=0: must be an integer >= 1"),
        (["task.max_train_source_symbols=1"], "task.max_train_source_symbols=1: every source of the training file is longer (the shortest has 4 symbols); allowed: at least 4"),
        (["task.tokenizer=subword", "task.target_tokenizer=char", "task.shared_vocab=true"],
         "task.shared_vocab=true: one vocabulary cannot hold subword symbols and char pieces"),
        (["task.val_path=no/such.tsv"], "task.val_path='no/such.tsv': no such file"),
        (["task.train_path=other.tsv"], "task.path="),
    ],
)  # fmt: skip
def test_a_bad_value_of_a_new_key_is_refused_in_one_line(tmp_path, overrides, message):
    path = sentences(tmp_path / "pairs.tsv", 100)
    cfg = compose_config(
        ["task=tsv", f"task.path={path}", "task.val_size=5", "task.test_size=5", *overrides]
    )
    with pytest.raises(ConfigError) as error:
        validate(cfg)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_binary_validation_file_is_refused_by_train_py_before_tensorflow_loads(tmp_path):
    train = sentences(tmp_path / "pairs.tsv", 100)
    val = tmp_path / "val.tsv"
    val.write_bytes(b"\x00\x01binary")
    result = run_script("train.py", "task=tsv", f"task.path={train}", f"task.val_path={val}",
                        f"hydra.run.dir={tmp_path}/run", import_times=True)  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: {val}:1: a NUL byte; this looks like a binary file, not UTF-8 text"
    ]
    assert "tensorflow" not in imported_modules(result.stderr)


def test_the_data_record_says_what_was_read_and_kept(tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", 100, repeats=3)
    data = tsv.load(task(path), 0, tmp_path)
    record = json.loads(json.dumps(data.record))
    assert record["lines"] == 103 and record["pairs"] == 103
    assert record["repeated_sources"] == {"lines": 3, "kept": "first"}
    assert record["splits"] == {"train": 60, "val": 20, "test": 20}
