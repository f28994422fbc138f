"""Counting a generated task's distinct sources, in plain Python (no TensorFlow).

Validation uses the counts to refuse held-out splits that training could not keep
apart from; generation uses the same counts to cap each length's held-out share.
"""

from typing import Any


def number_count(base: int, digits: int) -> int:
    """How many numbers are written with exactly `digits` digits in `base` (0 has one)."""
    return base if digits == 1 else (base - 1) * base ** (digits - 1)


def source_lengths(task: Any) -> range:
    """The lengths a generated task's sources can have, in symbols."""
    if task.name == "addition":  # two numbers and the plus sign
        return range(2 * task.min_source_symbols + 1, 2 * task.max_source_symbols + 2)
    return range(task.min_source_symbols, task.max_source_symbols + 1)


def source_count(task: Any, length: int) -> int:
    """How many distinct sources of `length` symbols a generated task has."""
    if task.name != "addition":
        return task.vocab_size**length
    digits = range(task.min_source_symbols, task.max_source_symbols + 1)
    return sum(
        number_count(task.vocab_size, a) * number_count(task.vocab_size, length - 1 - a)
        for a in digits
        if length - 1 - a in digits
    )


def held_out_limit(task: Any, length: int) -> int:
    """How many distinct sources of one length validation and test may take together.

    Half of them, so that training keeps the other half and sees every length.
    """
    return source_count(task, length) // 2


def held_out_capacity(task: Any, enough: int) -> int:
    """How many sources validation and test may take in all, counted up to `enough`."""
    total = 0
    for length in source_lengths(task):
        total += held_out_limit(task, length)
        if total >= enough:
            break
    return total
