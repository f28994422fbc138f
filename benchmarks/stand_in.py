"""A generated stand-in for a pronouncing dictionary, so the real-data benchmark needs no download.

Words are built from syllables (onset, vowel, coda) of English-like spellings, 1 to 4
syllables, which gives lengths like a dictionary's (about 3 to 15 letters, mean near 8);
each word's "pronunciation" is a fixed spelling-to-phoneme table applied to its graphemes
(digraphs first), so targets are space-separated ARPAbet-like symbols about as long as
CMUdict's. The mapping is learnable and the shapes are what a G2P model trains on; the
figures measure speed, not quality.
"""

import numpy as np

ONSETS = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v",
          "w", "y", "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gr", "ph", "pl", "pr",
          "sh", "sk", "sl", "sm", "sn", "sp", "st", "str", "th", "tr", "wh"]  # fmt: skip
VOWELS = ["a", "e", "i", "o", "u", "y", "ai", "ay", "ea", "ee", "ie", "oa", "oo", "ou", "ow", "oi"]
CODAS = ["", "", "b", "ck", "d", "ff", "g", "ght", "k", "l", "ll", "m", "n", "ng", "nt", "p",
         "r", "rd", "s", "ss", "st", "t", "tch", "x", "'s"]  # fmt: skip

#: Grapheme -> phonemes, longest graphemes first when read.
PHONEMES = {
    "str": "S T R", "ght": "T", "tch": "CH", "'s": "Z", "ch": "CH", "ck": "K", "ph": "F",
    "sh": "SH", "th": "TH", "wh": "W", "ng": "NG", "ll": "L", "ff": "F", "ss": "S",
    "ai": "EY", "ay": "EY", "ea": "IY", "ee": "IY", "ie": "AY", "oa": "OW", "oo": "UW",
    "ou": "AW", "ow": "OW", "oi": "OY", "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH",
    "f": "F", "g": "G", "h": "HH", "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M",
    "n": "N", "o": "AA", "p": "P", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V",
    "w": "W", "x": "K S", "y": "IY", "z": "Z",
}  # fmt: skip
_GRAPHEMES = sorted(PHONEMES, key=len, reverse=True)


def pronounce(word: str) -> str:
    """The stand-in pronunciation: the table applied to the word's graphemes, left to right."""
    out, i = [], 0
    while i < len(word):
        grapheme = next(g for g in _GRAPHEMES if word.startswith(g, i))
        out.append(PHONEMES[grapheme])
        i += len(grapheme)
    return " ".join(out)


def stand_in_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` distinct (word, pronunciation) pairs.

    Args:
        n: how many pairs.
        seed: the generator's seed.

    Returns:
        A list of `(word, space-separated phonemes)`, in generation order.
    """
    rng = np.random.default_rng(seed)
    seen, pairs = set(), []
    while len(pairs) < n:
        syllables = rng.choice([1, 2, 3, 4], p=[0.45, 0.4, 0.12, 0.03])
        word = "".join(
            ONSETS[rng.integers(len(ONSETS))]
            + VOWELS[rng.integers(len(VOWELS))]
            + CODAS[rng.integers(len(CODAS))]
            for _ in range(syllables)
        )
        if word not in seen:
            seen.add(word)
            pairs.append((word, pronounce(word)))
    return pairs


def write_tsv(path, n: int, seed: int = 0) -> None:
    """Writes `n` stand-in pairs to `path` as a file of pairs (word TAB pronunciation)."""
    with open(path, "w", encoding="utf-8") as f:
        for word, phonemes in stand_in_pairs(n, seed):
            f.write(f"{word}\t{phonemes}\n")
