"""Writes a word-level sample of pairs: English sentences in the present, and the same in the past.

    python tools/make_tense_pairs.py [--count 6000] [--seed 0] [--out data/tense_pairs.tsv]

`my sister carries the heavy box every day<TAB>my sister carried the heavy box yesterday`:
regular verbs (carries -> carried, stops -> stopped) and irregular ones (eats -> ate),
third persons and plurals (the dogs eat -> the dogs ate), negations (does not see -> did
not see), adverbs of time. A task of words whose endings change, where subword pieces
(`task.tokenizer=subword`) carry what the model learns of one verb to the others.
"""

import random

from distinct_pairs import write_distinct_pairs

# (base, third person singular, past)
REGULAR = [
    ("walk", "walks", "walked"), ("play", "plays", "played"), ("watch", "watches", "watched"),
    ("carry", "carries", "carried"), ("stop", "stops", "stopped"), ("clean", "cleans", "cleaned"),
    ("open", "opens", "opened"), ("paint", "paints", "painted"), ("visit", "visits", "visited"),
    ("wash", "washes", "washed"), ("fix", "fixes", "fixed"), ("study", "studies", "studied"),
    ("push", "pushes", "pushed"), ("pull", "pulls", "pulled"), ("cook", "cooks", "cooked"),
    ("call", "calls", "called"), ("help", "helps", "helped"), ("move", "moves", "moved"),
    ("chase", "chases", "chased"), ("kick", "kicks", "kicked"), ("like", "likes", "liked"),
    ("need", "needs", "needed"), ("want", "wants", "wanted"), ("answer", "answers", "answered"),
]  # fmt: skip
IRREGULAR = [
    ("eat", "eats", "ate"), ("see", "sees", "saw"), ("take", "takes", "took"),
    ("write", "writes", "wrote"), ("buy", "buys", "bought"), ("find", "finds", "found"),
    ("read", "reads", "read"), ("bring", "brings", "brought"), ("catch", "catches", "caught"),
    ("draw", "draws", "drew"), ("drive", "drives", "drove"), ("sell", "sells", "sold"),
    ("throw", "throws", "threw"), ("hold", "holds", "held"), ("break", "breaks", "broke"),
    ("choose", "chooses", "chose"), ("forget", "forgets", "forgot"), ("lose", "loses", "lost"),
]  # fmt: skip
SINGULAR = ["the cat", "my sister", "a small dog", "the old man", "our teacher", "the baker",
            "her brother", "the girl", "a tall farmer", "the doctor", "my friend", "the pilot"]  # fmt: skip
PLURAL = ["the dogs", "two boys", "my parents", "the children", "we", "they", "our neighbours",
          "the students", "you", "the twins"]  # fmt: skip
OBJECTS = ["the ball", "an apple", "a letter", "the heavy box", "her book", "the red car",
           "a new bike", "the old door", "some bread", "the small window", "a picture",
           "the map", "his shoes", "the blue cup", "a long story"]  # fmt: skip
PRESENT_TIMES = ["every day", "today", "now", "every morning", "on sundays", ""]
PAST_TIMES = {"every day": "yesterday", "today": "yesterday", "now": "then",
              "every morning": "this morning", "on sundays": "last sunday", "": ""}  # fmt: skip


def pair(rng: random.Random) -> tuple:
    """One (present, past) pair."""
    base, third, past = rng.choice(REGULAR + IRREGULAR)
    plural = rng.random() < 0.4
    subject = rng.choice(PLURAL if plural else SINGULAR)
    obj, when = rng.choice(OBJECTS), rng.choice(PRESENT_TIMES)
    if rng.random() < 0.2:  # a negation: do / does not, then did not
        present = f"{subject} {'do' if plural else 'does'} not {base} {obj}"
        was = f"{subject} did not {base} {obj}"
    else:
        present = f"{subject} {base if plural else third} {obj}"
        was = f"{subject} {past} {obj}"
    return f"{present} {when}".strip(), f"{was} {PAST_TIMES[when]}".strip()


def main() -> None:
    write_distinct_pairs(pair, __doc__.splitlines()[0], "data/tense_pairs.tsv")


if __name__ == "__main__":
    main()
