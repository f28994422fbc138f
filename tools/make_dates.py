"""Writes a character-level sample of pairs: dates as people write them, and their ISO form.

    python tools/make_dates.py [--count 6000] [--seed 0] [--out data/dates.tsv]

`Tuesday, March 3, 2026<TAB>2026-03-03`, `3rd of march 2026<TAB>2026-03-03`,
`03.03.26<TAB>2026-03-03`: a dozen ways of writing a date between 1950 and 2049, in
English, with weekdays that agree with the date. A task for `task.tokenizer=char`: every
character is a symbol.
"""

import datetime
import random

from distinct_pairs import write_distinct_pairs

START, END = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


FORMATS = [
    lambda d: f"{d:%B} {d.day}, {d.year}",
    lambda d: f"{d.day} {d:%B} {d.year}",
    lambda d: f"{d:%A}, {d:%B} {d.day}, {d.year}",
    lambda d: f"{d:%a} {d.day} {d:%b} {d.year}",
    lambda d: f"{d:%b} {d.day} {d.year}",
    lambda d: f"{ordinal(d.day)} of {d:%B} {d.year}",
    lambda d: f"{d:%B} {ordinal(d.day)}, {d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d:%y}",
    lambda d: f"{d.day}.{d.month}.{d.year}",
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.day:02d} {d:%b} {d.year}",
    lambda d: f"the {ordinal(d.day)} of {d:%B}, {d.year}",
]


def pair(rng: random.Random) -> tuple:
    """One (written date, ISO date) pair; lower case one time in three."""
    date = START + datetime.timedelta(days=rng.randrange((END - START).days + 1))
    written = rng.choice(FORMATS)(date)
    if rng.random() < 1 / 3:
        written = written.lower()
    return written, date.isoformat()


def main() -> None:
    write_distinct_pairs(pair, __doc__.splitlines()[0], "data/dates.tsv")


if __name__ == "__main__":
    main()
