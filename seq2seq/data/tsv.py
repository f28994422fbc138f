"""Your own data: a file of `source<TAB>target` lines, split and tokenized.

The lines are read in order; a malformed one (no tab, or an empty side) stops the run
naming the file and line, or is skipped with a warning (`task.on_bad_line`). Sources
that repeat keep their first line, so that no held-out source is also in training.
The pairs are shuffled from the seed; validation and test are cut from the front and
the rest trains. The vocabulary comes from the training split alone: symbols seen at
least `task.min_freq` times, and `<unk>` for the others, in held-out data too.
"""

import logging
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from seq2seq.data.splits import Split, TaskData
from seq2seq.data.vocabulary import PAD_ID, Vocabulary, split_text
from seq2seq_config.errors import ConfigError, UserError

log = logging.getLogger(__name__)

Pair = Tuple[List[str], List[str]]


def read_pairs(path, tokenizer: str, on_bad_line: str) -> List[Pair]:
    """Reads and tokenizes the file's lines.

    Args:
        path: the file of `source<TAB>target` lines (UTF-8).
        tokenizer: `char` or `space`.
        on_bad_line: `error` or `skip`.

    Returns:
        `(source symbols, target symbols)` of each good line, in file order.

    Raises:
        UserError: for a file that cannot be read, or a bad line under `error`.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"task.path={str(path)!r}: cannot be read ({error})") from error
    pairs, bad = [], []
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        problem = None
        if len(fields) != 2:
            problem = "has no tab" if len(fields) == 1 else f"has {len(fields) - 1} tabs, not 1"
        else:
            source, target = (split_text(field, tokenizer) for field in fields)
            if not source or not target:
                problem = "has an empty " + ("source" if not source else "target")
        if problem is None:
            pairs.append((source, target))
        elif on_bad_line == "error":
            raise UserError(
                f"{path}:{number}: the line {problem}; each line must be source<TAB>target "
                "(or set task.on_bad_line=skip)"
            )
        else:
            bad.append(number)
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
        log.warning("%s: skipped %d malformed lines (line %s)", path, len(bad), shown)
    return pairs


def _first_of_each_source(pairs: List[Pair]) -> List[Pair]:
    seen, kept = set(), []
    for source, target in pairs:
        key = tuple(source)
        if key not in seen:
            seen.add(key)
            kept.append((source, target))
    return kept


def _to_split(pairs: List[Pair], vocab: Vocabulary) -> Split:
    def ids(sequences):
        width = max(len(s) for s in sequences)
        array = np.full((len(sequences), width), PAD_ID, np.int32)
        for row, symbols in enumerate(sequences):
            array[row, : len(symbols)] = vocab.encode(symbols)
        return array

    return Split(ids([p[0] for p in pairs]), ids([p[1] for p in pairs]))


def load(task_cfg, seed: int, vocab: Optional[Vocabulary] = None) -> TaskData:
    """The `tsv` task's data: the file's pairs, split from the seed, and its vocabulary.

    Args:
        task_cfg: the `task` config group.
        seed: the run's seed: it shuffles the pairs before the split.
        vocab: the vocabulary to encode with (a finished run's); by default one is built
            from the training split.

    Raises:
        UserError: for an unreadable file or a bad line (see `read_pairs`).
        ConfigError: if validation and test would leave no line to train on.
    """
    pairs = _first_of_each_source(
        read_pairs(task_cfg.path, task_cfg.tokenizer, task_cfg.on_bad_line)
    )
    held_out = task_cfg.val_size + task_cfg.test_size
    if held_out >= len(pairs):
        raise ConfigError(
            "task.val_size",
            task_cfg.val_size,
            f"with task.test_size={task_cfg.test_size}, validation and test take "
            f"{held_out} of the {len(pairs)} distinct sources of {task_cfg.path}, leaving "
            "none to train on; use smaller splits",
        )
    order = np.random.default_rng(seed).permutation(len(pairs))
    shuffled = [pairs[i] for i in order]
    val = shuffled[: task_cfg.val_size]
    test = shuffled[task_cfg.val_size : held_out]
    train = shuffled[held_out:]
    vocab = vocab or Vocabulary.from_data(
        (symbols for pair in train for symbols in pair),
        task_cfg.min_freq,
        task_cfg.tokenizer,
        max_source_len=max(len(source) for source, _ in pairs),
    )
    log.info(
        "%s: %d pairs (%d train, %d val, %d test), %d symbols",
        task_cfg.path, len(pairs), len(train), len(val), len(test), len(vocab.symbols),
    )
    return TaskData(
        vocab=vocab,
        train=_to_split(train, vocab),
        val=_to_split(val, vocab),
        test=_to_split(test, vocab),
    )
