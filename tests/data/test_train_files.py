"""Several training files with weights (`task.train_paths`, `task.train_weights`): one
store of their pairs, each pass drawing each file's share from the seed (exact resume),
held-out sources leaving every file, refusals before TensorFlow (seq2seq/text/file_mix.py)."""

import json
import logging

import numpy as np
import pytest

from conftest import error_lines, imported_modules, run_script, write_pairs
from seq2seq import compose_config, validate
from seq2seq.base.errors import ConfigError
from seq2seq.data import pipeline, tsv
from seq2seq.text.file_mix import FileMix


def _files(tmp_path):
    general = write_pairs(tmp_path / "general.tsv", 300, repeats=10)
    domain = write_pairs(tmp_path / "domain.tsv", 40, start=1000)
    return general, domain


def _config(tmp_path, *overrides):
    general, domain = _files(tmp_path)
    return compose_config(
        ["task=tsv", f"task.train_paths=[{general},{domain}]", "task.val_size=20",
         "task.test_size=20", *overrides]
    )  # fmt: skip


def test_a_pass_draws_each_files_share_and_walks_each_file_before_repeating():
    mix = FileMix(sizes=(300, 40), weights=(0.5, 0.5), seed=3)
    assert mix.draws() == [170, 170] and sum(mix.draws()) == 340
    assert FileMix((10, 10, 10), (1 / 3, 1 / 3, 1 / 3), 0).draws() == [10, 10, 10]
    first, second = mix.rows(0), mix.rows(1)
    assert len(first) == 340 and np.array_equal(first, mix.rows(0))  # from (seed, pass) alone
    files = mix.file_of(first)
    assert (files == 0).sum() == 170 and (files == 1).sum() == 170
    # The small file: 170 draws walk its 40 pairs four times and 10 more, each walk whole.
    small = first[files == 1] - 300
    for walk in range(4):
        assert sorted(small[walk * 40 : (walk + 1) * 40]) == list(range(40))
    # The large one: no pair twice before every one came once (170 + 130 of the next pass).
    large = np.concatenate([first[files == 0], second[mix.file_of(second) == 0][:130]])
    assert sorted(large) == list(range(300))
    assert not np.array_equal(first, FileMix((300, 40), (0.5, 0.5), 4).rows(0))


def test_a_resumed_stream_of_weighted_batches_is_the_uninterrupted_ones_tail(tmp_path, caplog):
    cfg = _config(tmp_path, "task.train_weights=[1,3]")
    data = tsv.load(cfg.task, cfg.seed, tmp_path / "data")
    assert data.train.mix is not None and data.train.mix.draws() == [75, 225]

    def batches(first_epoch):
        dataset = pipeline.training_dataset(data.train, 16, 5, first_epoch, 3, True)
        return [x["encoder_token_ids"].numpy().tolist() for x, _, _ in dataset]

    full, resumed = batches(0), batches(2)
    assert resumed == full[2 * len(full) // 3 :]
    # Each epoch's batches hold what the pass drew from each file: a quarter, three quarters.
    lengths = data.train.source_lengths + data.train.target_lengths
    steps = pipeline.steps_per_epoch(data.train, 16)
    for epoch in range(3):
        window = pipeline.planned_window(lengths, 16, 5, True, epoch * steps, steps, data.train.mix)
        rows = np.concatenate(list(window))
        assert np.bincount(data.train.mix.file_of(rows)).tolist() == [75, 225]
    # What fit reads: each epoch's batches, and the log line that says what it drew.
    epochs = pipeline.EpochBatches(data.train, 16, 5, group_by_length=True)
    with caplog.at_level(logging.INFO, logger="seq2seq.data.pipeline"):
        for epoch in range(2):
            epochs.on_epoch_begin(epoch)
            assert sum(len(y) for _, y, _ in epochs.dataset) == len(data.train)
            epochs.on_epoch_end(epoch)
    assert "Epoch 1 drew 75 + 225 pairs" in caplog.text
    assert "Epoch 2 drew 75 + 225 pairs" in caplog.text


def test_the_files_share_one_store_and_the_held_out_sources_leave_every_file(tmp_path, caplog):
    general, domain = _files(tmp_path)
    # domain.tsv repeats general.tsv's first 30 sources (with other targets) and has its own.
    domain.write_text(domain.read_text() + general.read_text().splitlines()[0] + "\n")
    cfg = _config(tmp_path, "task.train_weights=[0.7,0.3]")
    with caplog.at_level(logging.INFO):
        data = tsv.load(cfg.task, cfg.seed, tmp_path / "data")
    record = data.record
    assert [record["files"][k]["path"] for k in ("train", "train.1")] == [str(general), str(domain)]
    held = {source for split in ("val", "test") for source, _ in data.held_out_text[split]}
    assert len(held) == 40
    # No held-out source trains, from either file.
    vocab = data.vocabs.source
    trained = {vocab.decode_text(row) for row in data.train.pad_rows(np.arange(len(data.train)))[0]}
    assert not held & trained
    # Repeats count within each file: general's 10 repeated lines, and domain's copy of
    # general's first source is its own first line there (trained, unless held out).
    assert record["repeated_sources"]["lines"] == 10
    sizes = record["train_pairs_per_file"]
    domain_sources = [line.split("\t")[0] for line in domain.read_text().splitlines()]
    assert sizes[1] == sum(source not in held for source in domain_sources)
    assert sum(sizes) == len(data.train)
    mix = record["mix"]
    assert [f["weight"] for f in mix["files"]] == [0.7, 0.3]
    assert sum(f["drawn_per_pass"] for f in mix["files"]) == len(data.train)
    assert "Each epoch draws" in caplog.text
    # Without weights: no resampling, every pair once a pass.
    plain = _config(tmp_path)
    assert tsv.load(plain.task, plain.seed, tmp_path / "data").train.mix is None


def test_a_subword_vocabulary_is_trained_on_every_training_file(tmp_path):
    cfg = _config(tmp_path, "task.target_tokenizer=subword", "task.target_vocab_size=30")
    data = tsv.load(cfg.task, cfg.seed, tmp_path / "data")
    assert data.record["train_pairs_per_file"][1] > 0
    assert json.loads(json.dumps(data.record))["splits"]["train"] == len(data.train)


@pytest.mark.parametrize(
    "overrides, key, allowed",
    [
        (("task.train_weights=[0.7]",), "task.train_weights", "one weight per file"),
        (("task.train_weights=[0,0]",), "task.train_weights", "not all 0"),
        (("task.train_weights=[-1,2]",), "task.train_weights", "numbers >= 0"),
        (("task.train_path=x.tsv",), "task.train_paths", "give one of them"),
    ],
)
def test_bad_weights_and_clashing_keys_are_refused(overrides, key, allowed, tmp_path):
    with pytest.raises(ConfigError) as caught:
        validate(_config(tmp_path, *overrides))
    assert caught.value.key == key and allowed in str(caught.value)


def test_weights_without_files_and_files_on_a_generated_task_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="task.train_weights.*for 0 files"):
        validate(compose_config(["task=tsv", "task.train_weights=[1,2]"]))
    with pytest.raises(ConfigError, match="applies to task=tsv only"):
        validate(compose_config([f"task.train_paths=[{tmp_path}/a.tsv]"]))


def test_a_bad_weight_is_refused_in_one_line_before_tensorflow_loads(tmp_path):
    general, domain = _files(tmp_path)
    result = run_script(
        "train.py", "task=tsv", f"task.train_paths=[{general},{domain}]",
        "task.train_weights=[1,-1]", f"hydra.run.dir={tmp_path}/run", import_times=True,
        timeout=60,
    )  # fmt: skip
    lines = error_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: task.train_weights=[1.0, -1.0]: must be a list of numbers")
    assert not {"tensorflow", "keras"} & imported_modules(result.stderr)
