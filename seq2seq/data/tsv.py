"""Your own data: files of `source<TAB>target` lines, split, tokenized per side, stored.

The training file is streamed, never held in memory whole (files of any size), and read
twice on a first run (`char` and `space` tokenizers):

1. a read for its shape (`seq2seq.text.file_scan`, shared with validation, which
   made it before TensorFlow loaded): every line (BOM, CRLF, bad lines; each source
   normalized as `task.normalize` says), per good line its number, a 64-bit hash of its
   source and its lengths, and the file's SHA-256;
2. validation and test come from their own files (`task.val_path`, `task.test_path`),
   or are cut from the training file: its distinct sources, in the order they first
   appear, shuffled from the seed, the first ones held out (with all their pairs: every
   target of a held-out source is a reference, the first the one the loss uses);
   no held-out source ever trains, repeated sources keep their first pair
   (`task.repeated_sources=first`) or all (`all`), and pairs longer than
   `task.max_train_source_symbols` / `task.max_train_target_symbols` are left out, each counted;
3. a read for its data (`pair_pass`): the held-out pairs' texts, each side's symbol
   counts over the training pairs, and the training pairs as provisional ids in a store
   on disk (`ragged_store`), which the vocabularies fitted to the counts then renumber;
   a `subword` side reads the file again, to train SentencePiece and to encode;
4. the store is cached under `data_dir/tsv/` by what determines it (a run on the same
   file reads it once, for its shape), and read back memory-mapped.

The held-out pairs are kept as text (`TaskData.held_out_text`), so that the run saves
them and later evaluations measure exactly what this run held out.
"""

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from seq2seq.base.errors import ConfigError
from seq2seq.base.files import atomic_write, atomic_write_text
from seq2seq.base.names import VOCAB_FILE
from seq2seq.data.pair_pass import read_data, remap
from seq2seq.data.pair_vocabularies import fit_vocabularies
from seq2seq.data.ragged_store import read_store, write_store
from seq2seq.data.splits import Split, TaskData
from seq2seq.text.file_mix import file_mix
from seq2seq.text.file_scan import scan_file
from seq2seq.text.pair_files import (
    held_out_files,
    side_tokenizers,
    task_file,
    training_weights,
)
from seq2seq.text.pair_split import (
    Rows,
    SplitPlan,
    group_references,
    read_held_out_file,
    training_rows,
)
from seq2seq.text.text_files import PairFile, describe_bad_lines
from seq2seq.text.tokenizers import TOKENIZER_CLASSES
from seq2seq.text.vocabulary import FIRST_SYMBOL_ID, Vocabularies

log = logging.getLogger(__name__)

#: A pair this many times longer than the median, and longer than `LONG`, is named in the
#: log: every batch it falls in is padded to it.
OUTLIER_RATIO, LONG = 10, 50
#: Bump when what the store holds changes, so that old caches are not reused.
STORE_VERSION = 2  # 2: a held-out source keeps every target


def _store_key(task, seed: int, checksums: dict, base) -> str:
    settings = OmegaConf.to_container(task, resolve=True)
    settings.pop("train_weights", None)  # how a pass draws from the store, not what it holds
    if not settings.get("train_paths"):  # one file: the name its store had before the key
        settings.pop("train_paths", None)
    settings = {"task": settings, "seed": seed, "files": checksums, "version": STORE_VERSION}
    if base is not None:  # the vocabularies started from, whichever run they were read from
        settings["base"] = [base.source.tokens, base.target.tokens, base.source.max_source_len]
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]


def _warn_of_outliers(path, lengths: np.ndarray, lines: np.ndarray, name: str) -> None:
    """Names, in the log, a pair far longer than the others: it pads every batch it is in."""
    if not len(lengths):
        return
    median = float(np.median(lengths))
    longest = int(lengths.argmax())
    if lengths[longest] > LONG and lengths[longest] > OUTLIER_RATIO * max(median, 1.0):
        log.warning(
            "%s:%d: a %s of %d symbols, %.0f times the median (%.0f); every batch it falls in "
            "is padded to its length (task.max_train_%s_symbols leaves such pairs out)",
            path, lines[longest], name, lengths[longest], lengths[longest] / max(median, 1.0), median, name,
        )  # fmt: skip


def load(task, seed: int, data_dir: str = "data", base: Vocabularies | None = None) -> TaskData:
    """The `tsv` task's data: its files read, split, tokenized per side and stored.

    Args:
        task: the `task` config group.
        seed: the run's seed: it picks the held-out sources.
        data_dir: where the encoded training pairs are cached.
        base: vocabularies to start from (another run's: `task.vocab_from`, fine-tuning):
            kept whole, the symbols they lack appended, their longest source kept if longer.

    Returns:
        The data: the training split memory-mapped from its store, `held_out_text`
        (the val and test pairs) and `record` (the files, their checksums, what was
        read, skipped and kept) filled in.

    Raises:
        UserError: for an unreadable file or a bad line (see `text_files.read_pairs`).
        ConfigError: if validation and test would leave no source to train on, or a
            subword vocabulary cannot be trained at the size asked.
    """
    tokenizers = side_tokenizers(task)
    # Validation scanned these files in this process: their checksums come from that read.
    rows = training_rows(task)
    train_files = rows.files
    held = {k: v for k, v in held_out_files(task).items() if v is not None}
    files = {_train_name(i): f.path for i, f in enumerate(train_files)} | held
    checksums = {_train_name(i): f.scan.sha256 for i, f in enumerate(train_files)}
    for split, f in held.items():
        checksums[split] = scan_file(task_file(task, f, f"task.{split}_path")).sha256
    store = Path(data_dir) / "tsv" / _store_key(task, seed, checksums, base)
    cached = _read_cached(store)
    prepared = cached is None
    if prepared:
        _prepare(task, seed, rows, tokenizers, store, base)
        cached = _read_cached(store)
    vocabs, train, held_out_text, counts = cached
    names = " and ".join(str(f.path) for f in train_files)
    _log_left_out(names, counts, task.repeated_sources, prepared)
    record = {"path": str(Path(train_files[0].path)), "sha256": checksums["train"], **counts,
              "files": {split: {"path": str(f), "sha256": checksums[split]} for split, f in files.items()}}  # fmt: skip
    weights = training_weights(task)
    if weights is not None:
        mix = file_mix(
            task, [f.path for f in train_files], counts["train_pairs_per_file"], weights, seed
        )
        train = dataclasses.replace(train, mix=mix)
        record["mix"] = train.mix.record([f.path for f in train_files])
    val, test = to_split(held_out_text["val"], vocabs), to_split(held_out_text["test"], vocabs)
    log.info(
        "%s: %d training pairs, %d val sources, %d test; %d source and %d target symbols%s",
        names, len(train), len(val), len(test),
        vocabs.source.size - FIRST_SYMBOL_ID, vocabs.target.size - FIRST_SYMBOL_ID, " (shared)" if vocabs.is_shared else "",
    )  # fmt: skip
    return TaskData(
        vocabs=vocabs,
        train=train,
        val=val,
        test=test,
        held_out_text=held_out_text,
        record=record,
    )


def _train_name(index: int) -> str:
    """The name of training file `index` in data.json's `files` (`train`, `train.1`, ...)."""
    return "train" if index == 0 else f"train.{index}"


def _log_left_out(path, counts: dict, repeated_sources: str, prepared: bool) -> None:
    """Says, on every run, what the file's counts record: repeated sources, pairs too
    long, and (from a cached store; its shape read named them) malformed lines skipped."""
    repeated = counts["repeated_sources"]["lines"]
    if repeated:
        log.warning(
            "%s: %d lines repeat a source seen on an earlier line; %s",
            path, repeated,
            "training keeps all their pairs (task.repeated_sources=all)" if repeated_sources == "all"
            else "each source keeps its first line (task.repeated_sources=first)",
        )  # fmt: skip
    if counts["too_long_left_out"]:
        log.warning("%s: %d training pairs longer than task.max_train_source_symbols / max_train_target_symbols left out",
                    path, counts["too_long_left_out"])  # fmt: skip
    if counts["malformed_lines_skipped"] and not prepared:
        log.warning("%s: skipped %d malformed lines (task.on_bad_line=skip)",
                    path, counts["malformed_lines_skipped"])  # fmt: skip


def _prepare(task, seed: int, rows: Rows, tokenizers: tuple, store: Path, base) -> None:
    """Steps 2 to 4 (see the module docstring) from the files' scans, written to `store`."""
    for file in rows.files:
        if file.scan.report.bad_lines:
            log.warning(describe_bad_lines(file.path, file.scan.report.bad_lines))
    plan = SplitPlan(task, seed, rows, tokenizers)
    train_rows = np.flatnonzero(plan.train)
    if not len(train_rows):
        raise ConfigError(
            "task.max_train_source_symbols",
            task.max_train_source_symbols,
            "leaves no pair to train on",
        )
    for file in rows.files:
        for side, name in enumerate(("source", "target")):
            if file.scan.lengths[side][0:1].min(initial=0) >= 0:
                _warn_of_outliers(file.path, file.scan.lengths[side], file.scan.lines, name)
    dropped, longest_source = Counter(), [0]
    limits = (task.max_train_source_symbols, task.max_train_target_symbols)
    per_file = np.zeros(len(rows.files), np.int64)

    def encoded(vocabs):
        for row, source, target in rows.pairs(train_rows):
            ids = vocabs.source.encode_text(source), vocabs.target.encode_text(target)
            if any(limit is not None and len(i) > limit for i, limit in zip(ids, limits)):
                dropped["subword pairs too long"] += 1  # char, space: left out in step 2
                continue
            longest_source[0] = max(longest_source[0], len(ids[0]))
            per_file[rows.file_of(row)] += 1
            yield ids

    reports = [file.scan.report for file in rows.files]
    counts = {
        "lines": sum(report.lines for report in reports),
        "pairs": len(rows),
        "malformed_lines_skipped": sum(len(report.bad_lines) for report in reports),
        "repeated_sources": {
            "lines": plan.counts["repeated_source_lines"],
            "kept": task.repeated_sources,
        },
        "held_out_sources_left_out_of_training": plan.counts["held_out_source_lines_left_out"],
        "too_long_left_out": plan.counts["too_long_left_out"],
    }
    store.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(store) as directory:
        if any(TOKENIZER_CLASSES[name].trained for name in tokenizers):
            # A SentencePiece model is trained before anything is encoded: three reads.
            for split, chosen in plan.held_out_rows.items():
                texts = {n: (s, t) for n, s, t in rows.pairs(chosen)}
                plan.held_out_text[split] = [texts[n] for n in chosen.tolist()]
            vocabs = fit_vocabularies(task, rows, tokenizers, train_rows, None, base)
            pairs = write_store(directory / "train", encoded(vocabs))
        else:  # one read: held-out texts, counts, provisional ids (pair_pass.py)
            held_out, counted, tables, longest_source[0], written = read_data(
                task, rows, tokenizers, plan.held_out_rows, train_rows, directory / "train"
            )
            plan.held_out_text.update(held_out)
            vocabs = fit_vocabularies(task, rows, tokenizers, train_rows, None, base, counted)
            remap(directory / "train", vocabs, tables)
            pairs, per_file[:] = sum(written), written
        if not pairs:
            raise ConfigError(
                "task.max_train_source_symbols",
                task.max_train_source_symbols,
                "leaves no pair to train on",
            )
        counts["too_long_left_out"] += dropped["subword pairs too long"]
        counts["train_pairs_per_file"] = per_file.tolist()
        inherited = base.source.max_source_len if base is not None else None
        vocabs.source.max_source_len = max(longest_source[0], inherited or 0)
        counts["splits"] = {  # held out: sources, each with all its targets
            "train": pairs,
            **{k: len(group_references(v)) for k, v in plan.held_out_text.items()},
        }
        vocabs.save(directory)
        atomic_write_text(directory / "held_out.json", json.dumps(plan.held_out_text))
        atomic_write_text(directory / "counts.json", json.dumps(counts))


def _read_cached(store: Path):
    """(vocabularies, training split, held-out texts, counts) of a cached store, or None."""
    if not store.is_dir():
        return None
    try:
        vocabs = Vocabularies.load(store / VOCAB_FILE)
        train = read_store(store / "train")
        held_out_text = {
            k: [tuple(p) for p in v]
            for k, v in json.loads((store / "held_out.json").read_text()).items()
        }
        counts = json.loads((store / "counts.json").read_text())
    except (OSError, ValueError, KeyError) as error:
        log.warning("Preparing the data again: %s", error)
        return None
    return vocabs, train, held_out_text, counts


def to_split(pairs, vocabs: Vocabularies) -> Split:
    """Text pairs to a Split of token ids, each side through its vocabulary: one row per
    distinct source, its first target the row's target, all of them its references."""
    grouped = group_references(pairs)
    return Split.from_rows(
        [vocabs.source.encode_text(source) for source, _ in grouped],
        [vocabs.target.encode_text(targets[0]) for _, targets in grouped],
        tuple(targets[0] for _, targets in grouped),
        tuple(targets for _, targets in grouped),
        tuple(source for source, _ in grouped),
    )


def load_pairs_file(file: PairFile, vocabs: Vocabularies) -> Split:
    """Every pair of a file as one split, encoded with a run's vocabularies.

    Args:
        file: the file and its rules (`text_files.PairFile`: its tokenizers the run's,
            `vocabs.tokenizers`; its `normalize` the run's `task.normalize`, or "none" for
            pairs the run saved, which it read normalized).
        vocabs: the run's vocabularies.

    Returns:
        The split.

    Raises:
        UserError: for an unreadable file or a bad line.
        ConfigError: for a file without a pair.
    """
    return to_split(read_held_out_file(file), vocabs)
