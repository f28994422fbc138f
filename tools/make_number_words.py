"""Writes data/number_words.tsv, the sample file of `task=tsv`: English number words to digits.

Each line is `<words><TAB><digits>`, both sides space-separated symbols, e.g.
`four thousand two hundred and one<TAB>4 2 0 1`, for 3,000 distinct numbers below
10,000 drawn from a fixed seed (run again, it writes the same file).

    python tools/make_number_words.py
"""

import random
from pathlib import Path

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def below_hundred(n: int) -> list:
    if n < 20:
        return [ONES[n]]
    return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])


def words(n: int) -> list:
    """British English: 4201 -> four thousand two hundred and one."""
    if n < 100:
        return below_hundred(n)
    out = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        out += below_hundred(thousands) + ["thousand"]
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        out += [ONES[hundreds], "hundred"]
    if rest:
        out += ["and"] + below_hundred(rest)
    return out


def main():
    numbers = random.Random(0).sample(range(10_000), 3_000)
    lines = [f"{' '.join(words(n))}\t{' '.join(str(n))}" for n in numbers]
    path = Path(__file__).resolve().parent.parent / "data" / "number_words.tsv"
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {path}")


if __name__ == "__main__":
    main()
