"""A first run reads its training file twice (its shape, shared with validation, then its
data), a run on a cached store once; the data pass's provisional ids become exactly the
ids encoding each text gives (seq2seq/text/file_scan.py, seq2seq/data/pair_pass.py)."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, write_pairs
from seq2seq import compose_config
from seq2seq.base.files import file_sha256
from seq2seq.data import tsv
from seq2seq.text import file_scan
from seq2seq.text.text_files import PairFile

#: Validates a training config and loads its data, counting the opens of the training file.
COUNTING = """
import sys
from seq2seq import compose_config, validate
from seq2seq.data import tsv
path, data_dir = sys.argv[1], sys.argv[2]
opened = []
sys.addaudithook(lambda event, args: event == "open" and str(args[0]) == path and opened.append(1))
cfg = compose_config(["task=tsv", f"task.train_path={path}", "task.val_size=20", "task.test_size=20", *sys.argv[3:]])
validate(cfg)
tsv.load(cfg.task, cfg.seed, data_dir)
print(len(opened))
"""


def _opens(path, data_dir, *overrides) -> int:
    result = subprocess.run(
        [sys.executable, "-c", COUNTING, str(path), str(data_dir), *overrides],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_a_first_run_reads_its_training_file_twice_and_a_cached_one_once(tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", 300, repeats=20)
    assert _opens(path, tmp_path / "data") == 2  # its shape (validation's), its data
    assert _opens(path, tmp_path / "data") == 1  # the store is cached: its shape alone
    # A subword side trains SentencePiece before anything is encoded: more reads.
    assert _opens(path, tmp_path / "other", "task.target_tokenizer=subword") > 2


@pytest.mark.parametrize(
    "overrides",
    [
        ("task.min_freq=100",),  # rare symbols become <unk>: the remap must say so
        ("task.shared_vocab=true", "task.source_tokenizer=char", "task.target_tokenizer=char"),
        ("task.repeated_sources=all", "task.source_tokenizer=char"),
    ],
)
def test_the_store_holds_what_encoding_each_training_text_gives(overrides, tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", 300, repeats=20)
    cfg = compose_config(["task=tsv", f"task.train_path={path}", "task.val_size=20", "task.test_size=20", *overrides])  # fmt: skip
    data = tsv.load(cfg.task, cfg.seed, tmp_path / "data")
    scan = file_scan.scan_file(PairFile(path, ("space", "space"), "error", "task.train_path"))
    texts = {n: line.split("\t") for n, line in enumerate(path.read_text().splitlines(), 1)}
    held = {s for split in data.held_out_text.values() for s, _ in split}
    trained = [texts[n] for n in scan.lines.tolist() if texts[n][0] not in held]
    if cfg.task.repeated_sources == "first":
        firsts = {}
        for source, target in trained:
            firsts.setdefault(source, target)
        trained = list(firsts.items())
    train = data.train
    assert len(train) == len(trained)
    vocabs = data.vocabs
    for row, (source, target) in enumerate(trained):
        for side, text, vocab in (
            ("source", source, vocabs.source),
            ("target", target, vocabs.target),
        ):
            offsets, ids = getattr(train, f"{side}_offsets"), getattr(train, f"{side}_ids")
            stored = np.asarray(ids[offsets[row] : offsets[row + 1]]).tolist()
            assert stored == vocab.encode_text(text), (row, side, text)
    if "task.min_freq=100" in overrides:
        assert vocabs.source.unknown_id in np.asarray(train.source_ids).tolist()


def test_the_scan_gives_the_files_checksum_and_is_made_again_when_the_file_changes(tmp_path):
    path = write_pairs(tmp_path / "pairs.tsv", 50)
    first = file_scan.scan_file(PairFile(path, ("space", "space"), "error", "task.train_path"))
    assert first.sha256 == file_sha256(path)
    assert (
        file_scan.scan_file(PairFile(path, ("space", "space"), "error", "task.train_path")) is first
    )
    with open(path, "a") as f:
        f.write("x y\ty x\n")
    again = file_scan.scan_file(PairFile(path, ("space", "space"), "error", "task.train_path"))
    assert again.stats.pairs == first.stats.pairs + 1 and again.sha256 == file_sha256(path)
    # Other reading rules, another scan.
    assert file_scan.scan_file(PairFile(path, ("char", "space"), "error", "x")) is not again
