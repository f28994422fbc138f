"""Toy tasks: deterministic generation of (source, target) pairs.

A task draws source sequences of symbols and computes each target from its source.
Validation and test sources are distinct and never appear in training, so held-out
exact-match measures generalization, not memory. `seq2seq.data.cache` keeps what is
generated under data/.
"""

from collections.abc import Callable

import numpy as np

from seq2seq.config.constraints import dispatch_table
from seq2seq.config.schema import GENERATED_TASKS
from seq2seq.data.splits import SPLITS, Split, TaskData
from seq2seq.text.task_counts import held_out_limit, source_lengths
from seq2seq.text.vocabulary import FIRST_SYMBOL_ID, PAD_ID, Vocabularies, Vocabulary

# Bump when generation changes, so that cached files of the old kind are not reused.
GENERATOR_VERSION = 2


def _lengths(ids: np.ndarray) -> np.ndarray:
    return (ids != PAD_ID).sum(axis=1)


def reverse_targets(source_ids: np.ndarray, task_cfg=None) -> np.ndarray:
    """Each row's symbols in reverse order, padding kept at the end.

    Args:
        source_ids: int (n, time) token ids, padded with PAD_ID at the end.
        task_cfg: unused; every target function takes the task's config.

    Returns:
        An array of the same shape: row `3 1 4 0 0` becomes `4 1 3 0 0`.
    """
    lengths = _lengths(source_ids)[:, None]
    index = lengths - 1 - np.arange(source_ids.shape[1])[None, :]
    reversed_ids = np.take_along_axis(source_ids, np.maximum(index, 0), axis=1)
    return np.where(index >= 0, reversed_ids, PAD_ID).astype(np.int32)


def copy_targets(source_ids: np.ndarray, task_cfg=None) -> np.ndarray:
    """The source itself: `3 1 4` -> `3 1 4`."""
    return source_ids.astype(np.int32, copy=True)


def sort_targets(source_ids: np.ndarray, task_cfg=None) -> np.ndarray:
    """The source's symbols in ascending order, padding kept at the end: `3 1 4` -> `1 3 4`."""
    # Padding (0) sorts first; pushing it past every symbol keeps it at the end.
    keyed = np.where(source_ids == PAD_ID, np.iinfo(np.int32).max, source_ids)
    ordered = np.sort(keyed, axis=1)
    return np.where(ordered == np.iinfo(np.int32).max, PAD_ID, ordered).astype(np.int32)


def reverse_prefix_targets(source_ids: np.ndarray, task_cfg) -> np.ndarray:
    """The first `task_cfg.reversed_symbols` symbols, reversed: with 2, `3 1 4` -> `1 3`."""
    return reverse_targets(source_ids[:, : task_cfg.reversed_symbols])


def plus_id(vocab_size: int) -> int:
    """The token id of `+` in the addition task: after the digits 0 .. vocab_size-1."""
    return FIRST_SYMBOL_ID + vocab_size


def _digits(numbers: np.ndarray, base: int, width: int) -> np.ndarray:
    """Token ids of each number's digits, most significant first, padded to `width`."""
    rows = np.full((len(numbers), width), PAD_ID, np.int32)
    for row, number in enumerate(numbers.tolist()):
        digits = []
        while True:
            number, digit = divmod(number, base)
            digits.append(FIRST_SYMBOL_ID + digit)
            if number == 0:
                break
        rows[row, : len(digits)] = digits[::-1]
    return rows


def _number(token_ids, base: int) -> int:
    value = 0
    for token_id in token_ids:
        value = value * base + int(token_id) - FIRST_SYMBOL_ID
    return value


def addition_targets(source_ids: np.ndarray, task_cfg) -> np.ndarray:
    """The sum of the two numbers of `a + b`, as digits: `1 2 + 3 4` -> `4 6`."""
    base = task_cfg.vocab_size
    sums = []
    for row, length in zip(source_ids, _lengths(source_ids)):
        symbols = row[:length].tolist()
        plus = symbols.index(plus_id(base))
        sums.append(_number(symbols[:plus], base) + _number(symbols[plus + 1 :], base))
    width = max(1, int(np.ceil((source_ids.shape[1] - 1) / 2)) + 1)
    return _digits(np.array(sums, dtype=object), base, width)


#: Each generated task's target, computed from its source ids and the task's config.
TARGETS: dict[str, Callable[[np.ndarray, object], np.ndarray]] = dispatch_table(
    "task.name (generated)",
    GENERATED_TASKS,
    {
        "reverse": reverse_targets,
        "copy": copy_targets,
        "sort": sort_targets,
        "reverse_prefix": reverse_prefix_targets,
        "addition": addition_targets,
    },
)


def vocabulary(task_cfg) -> Vocabulary:
    """A generated task's vocabulary: the numbers 0 .. vocab_size-1 (and `+` for addition)."""
    symbols = [str(i) for i in range(task_cfg.vocab_size)]
    if task_cfg.name == "addition":
        symbols.append("+")
    longest = max(source_lengths(task_cfg))
    return Vocabulary(symbols, "space", longest)


def sample_sources(
    rng: np.random.Generator, n: int, vocab_size: int, min_len: int, max_len: int
) -> np.ndarray:
    """Draws `n` sources: a length uniform in [min_len, max_len], then uniform symbols.

    Returns:
        int32 (n, max_len) token ids, padded with PAD_ID.
    """
    lengths = rng.integers(min_len, max_len + 1, size=n)
    symbols = rng.integers(0, vocab_size, size=(n, max_len))
    ids = symbols + FIRST_SYMBOL_ID
    ids[np.arange(max_len)[None, :] >= lengths[:, None]] = PAD_ID
    return ids.astype(np.int32)


def sample_additions(
    rng: np.random.Generator, n: int, base: int, min_digits: int, max_digits: int
) -> np.ndarray:
    """Draws `n` sources `a + b`: each operand's digit count uniform, then its value.

    Returns:
        int32 (n, 2 * max_digits + 1) token ids, padded with PAD_ID.
    """
    operands = []
    for _ in range(2):
        digits = rng.integers(min_digits, max_digits + 1, size=n)
        low = np.where(digits == 1, 0, base ** (digits - 1))
        operands.append(rng.integers(low, base**digits))
    width = 2 * max_digits + 1
    rows = np.full((n, width), PAD_ID, np.int32)
    a, b = (_digits(x, base, max_digits) for x in operands)
    for row in range(n):
        left, right = a[row][a[row] != PAD_ID], b[row][b[row] != PAD_ID]
        joined = np.concatenate([left, [plus_id(base)], right])
        rows[row, : len(joined)] = joined
    return rows


def _sample(rng, n, task_cfg, min_len, max_len) -> np.ndarray:
    if task_cfg.name == "addition":
        return sample_additions(rng, n, task_cfg.vocab_size, min_len, max_len)
    return sample_sources(rng, n, task_cfg.vocab_size, min_len, max_len)


def _draw(rng, n, task_cfg, forbidden: set, held_out: bool) -> np.ndarray:
    """Draws `n` sources, none of them in `forbidden`.

    Held-out sources are distinct, are added to `forbidden`, and take at most half of
    the sources of each length; a rejected row is drawn again, length included. That
    ends because config validation keeps the held-out splits within those halves.
    """
    taken = {}
    rows = []
    while len(rows) < n:
        batch = _sample(
            rng, n - len(rows), task_cfg, task_cfg.min_source_symbols, task_cfg.max_source_symbols
        )
        for row in batch:
            key = row.tobytes()
            if key in forbidden:
                continue
            if held_out:
                length = int((row != PAD_ID).sum())
                if taken.get(length, 0) >= held_out_limit(task_cfg, length):
                    continue
                taken[length] = taken.get(length, 0) + 1
                forbidden.add(key)
            rows.append(row)
    return np.stack(rows)


def generate(task_cfg, seed: int) -> TaskData:
    """Generates a task's three splits, deterministically from `seed`.

    Args:
        task_cfg: the `task` config group (a generated task).
        seed: the run's seed.

    Returns:
        The task's data; validation and test are distinct sources, none in training.
    """
    rng = np.random.default_rng([seed, GENERATOR_VERSION])
    forbidden = set()
    held_out = _draw(rng, task_cfg.val_size + task_cfg.test_size, task_cfg, forbidden, True)
    # Shuffled before the cut: rows accepted before a length's cap was reached come
    # first, and validation alone would get them.
    held_out = held_out[rng.permutation(len(held_out))]
    val, test = held_out[: task_cfg.val_size], held_out[task_cfg.val_size :]
    train = _draw(rng, task_cfg.train_size, task_cfg, forbidden, held_out=False)
    to_target = TARGETS[task_cfg.name]
    splits = {
        name: Split(sources, to_target(sources, task_cfg))
        for name, sources in zip(SPLITS, (train, val, test))
    }
    return TaskData(vocabs=Vocabularies.shared(vocabulary(task_cfg)), **splits)


def generate_longer(task_cfg, seed: int, size: int, min_len: int, max_len: int) -> Split:
    """A split of `size` sources with lengths `min_len .. max_len`, for length generalization.

    Drawn from its own random stream of `seed`, so it is the same for every evaluation
    of a run; with lengths beyond training it shares no sequence with it. For addition
    the lengths are digits per operand.
    """
    rng = np.random.default_rng([seed, GENERATOR_VERSION, min_len, max_len])
    sources = _sample(rng, size, task_cfg, min_len, max_len)
    return Split(sources, TARGETS[task_cfg.name](sources, task_cfg))
