"""What the keys of a task on files of pairs (`task=tsv`) mean together, and their checks:
which file trains, which hold validation and test, which tokenizer each side uses. Plain
Python, used before TensorFlow loads (validation) and by the data stage."""

import numpy as np

from seq2seq.base.errors import ConfigError
from seq2seq.base.tokens import SUBWORD_META_PIECES
from seq2seq.config.schema import DEFAULT_SUBWORD_VOCAB
from seq2seq.text.file_scan import PairsStats, scan_file
from seq2seq.text.text_files import PairFile, file_problem
from seq2seq.text.text_rules import text_rules


def training_file(task) -> str | None:
    """The (first) file of pairs to train on: `task.train_path`, its older name `task.path`,
    or the first of `task.train_paths`."""
    if task.train_paths:
        return task.train_paths[0]
    return task.train_path if task.train_path is not None else task.path


def training_files(task) -> list[tuple[str, str]]:
    """`(key, path)` of every file to train on, the key as errors name it:
    `task.train_paths[i]` for each of several, else `training_file_key`'s."""
    if task.train_paths:
        return [(f"task.train_paths[{i}]", path) for i, path in enumerate(task.train_paths)]
    return [(training_file_key(task), training_file(task))]


def training_weights(task) -> list[float] | None:
    """Each training file's share of an epoch, summing to 1; None: no resampling (every
    pair once an epoch, each file in proportion to its pairs)."""
    if not task.train_weights:
        return None
    total = float(sum(task.train_weights))
    return [float(weight) / total for weight in task.train_weights]


def training_file_key(task) -> str:
    """The key that names the training file, as the user typed it: `task.path` only when
    that older name is the one given (errors name what the user wrote)."""
    return "task.path" if task.train_path is None and task.path is not None else "task.train_path"


def task_file(task, path, key: str) -> PairFile:
    """A file a tsv task names (`key`), read by the task's rules: its tokenizers, bad
    lines, header and normalization."""
    return PairFile(
        path, side_tokenizers(task), task.on_bad_line, key, task.header, "task.header",
        task.normalize,
    )  # fmt: skip


def held_out_files(task) -> dict:
    """`{"val": path or None, "test": path or None}`: the held-out splits that have files."""
    return {"val": task.val_path, "test": task.test_path}


def side_tokenizers(task) -> tuple:
    """(source tokenizer, target tokenizer): each side's own, or `task.tokenizer`."""
    return (task.source_tokenizer or task.tokenizer, task.target_tokenizer or task.tokenizer)


def subword_sizes(task) -> tuple:
    """(source, target) most pieces of a subword vocabulary, defaults filled in."""
    return (
        task.source_vocab_size or DEFAULT_SUBWORD_VOCAB,
        task.target_vocab_size or DEFAULT_SUBWORD_VOCAB,
    )


def check_pair_files(task) -> None:
    """Checks a tsv task's keys and files: the files exist and are UTF-8 text of good lines (or bad ones to skip); the training
    file has more distinct sources than validation and test take from it; the tokenizers,
    vocabulary sizes and maximum lengths fit the text. Read once here, before TensorFlow
    loads, so that a bad file or setting costs a second, not a minute.

    Raises:
        ConfigError: naming the first key whose value cannot work.
        UserError: for a file that cannot be read or a bad line.
    """
    _check_training_keys(task)
    train = training_files(task)
    files = dict(train)
    files.update(
        {f"task.{split}_path": path for split, path in held_out_files(task).items() if path}
    )
    for key, path in files.items():
        problem = file_problem(path)  # a directory, a FIFO (which must not be opened)
        if problem is not None:
            raise ConfigError(key, path, problem)
    tokenizers = side_tokenizers(task)
    trained = [text_rules(name).trained for name in tokenizers]
    if task.shared_vocab and tokenizers[0] != tokenizers[1] and any(trained):
        raise ConfigError(
            "task.shared_vocab", True,
            f"one vocabulary cannot hold {tokenizers[0]} symbols and {tokenizers[1]} pieces; "
            "give both sides the same tokenizer, or set task.shared_vocab=false",
        )  # fmt: skip
    for side, size_key in enumerate(("task.source_vocab_size", "task.target_vocab_size")):
        if task[size_key.split(".")[1]] is not None and not trained[side]:
            raise ConfigError(
                size_key,
                task[size_key.split(".")[1]],
                f"applies to a subword tokenizer; this side's is {tokenizers[side]}; leave it null",
            )
    for key, path in files.items():
        if key in ("task.val_path", "task.test_path"):
            scan_file(task_file(task, path, key))
    # The training files last: their scans are the ones the data's split reuses (file_scan.py).
    scans = [scan_file(task_file(task, path, key)) for key, path in train]
    stats = combined_stats(scans)
    check_split_sizes(task, stats.distinct_sources)
    _check_tsv_vocabularies(task, tokenizers, stats)
    _check_tsv_lengths(task, stats)


def _check_training_keys(task) -> None:
    """One way of naming the training files, and weights that fit them."""
    if task.train_path is not None and task.path is not None and task.train_path != task.path:
        raise ConfigError(
            "task.path",
            task.path,
            f"task.train_path={task.train_path!r} names the training file already; give one of them",
        )
    named = task.train_path if task.train_path is not None else task.path
    if task.train_paths and named is not None:
        raise ConfigError(
            "task.train_paths", list(task.train_paths),
            f"{training_file_key(task)}={named!r} names the training file already; give one of them",
        )  # fmt: skip
    if training_file(task) is None:
        raise ConfigError(
            "task.train_path",
            None,
            "task=tsv needs the file of source<TAB>target lines (task.train_path or task.path)",
        )
    weights = list(task.train_weights)
    if weights and len(weights) != len(task.train_paths):
        raise ConfigError(
            "task.train_weights", weights,
            f"gives {len(weights)} weights for {len(task.train_paths)} files of task.train_paths; "
            "allowed: one weight per file, or none",
        )  # fmt: skip


def combined_stats(scans: list) -> PairsStats:
    """The training files' stats as one file's: pairs and distinct sources over all of them,
    the shortest and longest of each side, the characters of each side."""
    if len(scans) == 1:
        return scans[0].stats
    stats = PairsStats()
    stats.pairs = sum(scan.stats.pairs for scan in scans)
    stats.distinct_sources = len(np.unique(np.concatenate([scan.hashes for scan in scans])))
    for side in (0, 1):
        for name, pick in (("shortest", min), ("longest", max)):
            values = [getattr(s.stats, name)[side] for s in scans]
            known = [v for v in values if v is not None]
            getattr(stats, name)[side] = pick(known) if known else None
        stats.characters[side] = set().union(*(s.stats.characters[side] for s in scans))
    return stats


def cut_sizes(task) -> dict:
    """The held-out splits cut from the training file (those without a file of their own),
    in order, with their sizes: `{"val": task.val_size, "test": task.test_size}` or part."""
    sizes = {"val": task.val_size, "test": task.test_size}
    return {split: sizes[split] for split, path in held_out_files(task).items() if path is None}


def check_split_sizes(task, distinct_sources: int) -> None:
    """The one check of split sizes, before TensorFlow (`check_pair_files`) and when the
    data is split (`seq2seq.text.pair_split`): the splits cut from the training file take
    fewer than its distinct sources, so that some are left to train on.

    Args:
        task: the tsv task's config.
        distinct_sources: how many distinct sources the training file holds.

    Raises:
        ConfigError: naming the first split cut from the training file.
    """
    cut = cut_sizes(task)
    held_out = sum(cut.values())
    if cut and held_out >= distinct_sources:
        first = next(iter(cut))
        raise ConfigError(
            f"task.{first}_size",
            cut[first],
            f"validation and test would take {held_out} of the {distinct_sources} distinct "
            f"sources of {' and '.join(path for _, path in training_files(task))}, leaving "
            "none to train on; use smaller splits",
        )


def _check_tsv_vocabularies(task, tokenizers, stats) -> None:
    """A subword vocabulary needs a piece for every character of its side's text."""
    sizes = subword_sizes(task)
    sides = [(0, "task.source_vocab_size"), (1, "task.target_vocab_size")]
    for side, key in sides[:1] if task.shared_vocab else sides:
        if not text_rules(tokenizers[side]).trained:
            continue
        characters = (
            stats.characters[0] | stats.characters[1]
            if task.shared_vocab
            else stats.characters[side]
        )
        needed = len(characters) + SUBWORD_META_PIECES  # and PAD, BOS, EOS, <unk>
        if sizes[side] < needed:
            raise ConfigError(
                key, sizes[side],
                f"the text has {len(characters)} distinct characters, and a subword vocabulary "
                f"needs a piece for each and {SUBWORD_META_PIECES} special ones; allowed: at least {needed}",
            )  # fmt: skip


def _check_tsv_lengths(task, stats) -> None:
    """A maximum length below the shortest pair would leave nothing to train on."""
    for side, name in enumerate(("source", "target")):
        limit, shortest = task[f"max_train_{name}_symbols"], stats.shortest[side]
        if limit is not None and shortest is not None and limit < shortest:
            raise ConfigError(
                f"task.max_train_{name}_symbols", limit,
                f"every {name} of the training file is longer (the shortest has {shortest} "
                f"symbols); allowed: at least {shortest}",
            )  # fmt: skip
