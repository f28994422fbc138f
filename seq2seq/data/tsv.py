"""Your own data: a file of `source<TAB>target` lines, split and tokenized.

The lines are read as `seq2seq_config.text_files` reads them (a byte order mark, CRLF,
bad lines). Sources that repeat are counted; each held-out source keeps its first pair,
and training keeps the first pair of each of its sources (`task.repeated_sources=first`)
or all of them (`all`), so that no held-out source is ever trained on. The distinct
sources are shuffled from the seed; validation and test are cut from the front and the
rest trains. The vocabulary comes from the training split alone: symbols seen at least
`task.min_freq` times, and `<unk>` for the others, in held-out data too.

The held-out pairs are kept as text (`TaskData.held_out_text`), so that the run saves
them and later evaluations measure exactly what this run held out, whatever becomes of
the file.
"""

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from seq2seq.data.splits import Split, TaskData
from seq2seq.data.vocabulary import PAD_ID, Vocabulary, split_text
from seq2seq_config.errors import ConfigError
from seq2seq_config.files import file_sha256
from seq2seq_config.text_files import PairsRead, describe_bad_lines, read_pairs, source_key

log = logging.getLogger(__name__)

#: A pair as text, with the line it came from.
TextPair = tuple[int, str, str]
#: A sequence this many times longer than the median, and longer than `LONG`, is named
#: in the log: every batch it falls in is padded to it.
OUTLIER_RATIO, LONG = 10, 50


def to_split(pairs: Iterable[tuple[str, str]], vocab: Vocabulary) -> Split:
    """Text pairs to a Split of token ids, padded, in the vocabulary's tokenizer."""
    tokenized = [(vocab.split(source), vocab.split(target)) for source, target in pairs]

    def ids(sequences):
        width = max(len(s) for s in sequences)
        array = np.full((len(sequences), width), PAD_ID, np.int32)
        for row, symbols in enumerate(sequences):
            array[row, : len(symbols)] = vocab.encode(symbols)
        return array

    return Split(ids([p[0] for p in tokenized]), ids([p[1] for p in tokenized]))


def _group_by_source(pairs: list[TextPair], tokenizer: str) -> list[list[TextPair]]:
    """The pairs of each distinct source, sources in the order they first appear."""
    groups: dict = {}
    for pair in pairs:
        groups.setdefault(source_key(pair[1], tokenizer), []).append(pair)
    return list(groups.values())


def _warn_of_outliers(path, pairs: list[TextPair], tokenizer: str) -> None:
    """Names, in the log, a pair far longer than the others: it pads every batch it is in."""
    for side, name in ((1, "source"), (2, "target")):
        lengths = np.array([len(split_text(pair[side], tokenizer)) for pair in pairs])
        median = float(np.median(lengths))
        longest = int(lengths.argmax())
        if lengths[longest] > LONG and lengths[longest] > OUTLIER_RATIO * max(median, 1.0):
            log.warning(
                "%s:%d: a %s of %d symbols, %.0f times the median (%.0f); every batch it "
                "falls in is padded to its length, which slows training",
                path, pairs[longest][0], name, lengths[longest],
                lengths[longest] / max(median, 1.0), median,
            )  # fmt: skip


def load(task_cfg, seed: int, vocab: Vocabulary | None = None) -> TaskData:
    """The `tsv` task's data: the file's pairs, split from the seed, and its vocabulary.

    Args:
        task_cfg: the `task` config group.
        seed: the run's seed: it shuffles the sources before the split.
        vocab: the vocabulary to encode with (a finished run's); by default one is built
            from the training split.

    Returns:
        The data, with `held_out_text` (the val and test pairs) and `record` (the file,
        its checksum, what was read, skipped and kept) filled in.

    Raises:
        UserError: for an unreadable file or a bad line (see `text_files.read_pairs`).
        ConfigError: if validation and test would leave no source to train on.
    """
    tokenizer = task_cfg.tokenizer
    report = PairsRead()
    pairs = list(read_pairs(task_cfg.path, (tokenizer, tokenizer), task_cfg.on_bad_line, report=report))
    if report.bad_lines:
        log.warning(describe_bad_lines(task_cfg.path, report.bad_lines))
    groups = _group_by_source(pairs, tokenizer)
    repeated = len(pairs) - len(groups)
    held_out = task_cfg.val_size + task_cfg.test_size
    if held_out >= len(groups):
        raise ConfigError(
            "task.val_size",
            task_cfg.val_size,
            f"with task.test_size={task_cfg.test_size}, validation and test take "
            f"{held_out} of the {len(groups)} distinct sources of {task_cfg.path}, leaving "
            "none to train on; use smaller splits",
        )
    order = np.random.default_rng(seed).permutation(len(groups))
    shuffled = [groups[i] for i in order]
    val = [group[0] for group in shuffled[: task_cfg.val_size]]
    test = [group[0] for group in shuffled[task_cfg.val_size : held_out]]
    keep_all = task_cfg.repeated_sources == "all"
    train = [pair for group in shuffled[held_out:] for pair in (group if keep_all else group[:1])]
    if repeated:
        log.warning(
            "%s: %d lines repeat a source seen on an earlier line; %s",
            task_cfg.path, repeated,
            "training keeps all their pairs (task.repeated_sources=all)" if keep_all
            else "each source keeps its first line (task.repeated_sources=first)",
        )  # fmt: skip
    _warn_of_outliers(task_cfg.path, pairs, tokenizer)
    vocab = vocab or Vocabulary.from_data(
        (split_text(text, tokenizer) for _, source, target in train for text in (source, target)),
        task_cfg.min_freq,
        tokenizer,
        max_source_len=max(len(split_text(pair[1], tokenizer)) for pair in pairs),
    )
    log.info(
        "%s: %d pairs (%d train, %d val, %d test), %d symbols",
        task_cfg.path, len(pairs), len(train), len(val), len(test), len(vocab.symbols),
    )  # fmt: skip
    held_out_text = {name: [(p[1], p[2]) for p in split] for name, split in (("val", val), ("test", test))}
    record = {
        "path": str(Path(task_cfg.path)),
        "sha256": file_sha256(task_cfg.path),
        "lines": report.lines,
        "pairs": len(pairs),
        "malformed_lines_skipped": len(report.bad_lines),
        "repeated_sources": {"lines": repeated, "kept": task_cfg.repeated_sources},
        "splits": {"train": len(train), "val": len(val), "test": len(test)},
    }
    return TaskData(
        vocab=vocab,
        train=to_split(((p[1], p[2]) for p in train), vocab),
        val=to_split(held_out_text["val"], vocab),
        test=to_split(held_out_text["test"], vocab),
        held_out_text=held_out_text,
        record=record,
    )


def load_pairs_file(path, vocab: Vocabulary, on_bad_line: str, key: str) -> Split:
    """Every pair of a file as one split, encoded with a run's vocabulary.

    Raises:
        UserError: for an unreadable file or a bad line.
    """
    tokenizers = (vocab.tokenizer, vocab.tokenizer)
    pairs = [(source, target) for _, source, target in read_pairs(path, tokenizers, on_bad_line, key)]
    if not pairs:
        raise ConfigError(key, str(path), "holds no pair; allowed: a file of source<TAB>target lines")
    return to_split(pairs, vocab)
