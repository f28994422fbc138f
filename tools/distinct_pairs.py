"""The command line shared by the sample writers: draw pairs until enough distinct sources.

python tools/make_dates.py --count N --seed S --out PATH
"""

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

#: Draws in a row without a new source after which the sources are taken as exhausted.
STALE_DRAWS = 10_000


def write_distinct_pairs(
    pair: Callable[[random.Random], tuple[str, str]], description: str, default_out: str
) -> None:
    """Parses `--count`, `--seed`, `--out`, then writes `count` pairs with distinct sources.

    Args:
        pair: draws one `(source, target)` pair from the random generator.
        description: the script's one-line description, for `--help`.
        default_out: where to write without `--out`.

    Raises:
        SystemExit: with a one-line error when `--count` is below 1, or more than the
            generator can make distinct sources for.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--count", type=int, default=6000, help="distinct sources")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    if args.count < 1:
        parser.error(f"--count={args.count}: allowed: 1 or more")
    rng = random.Random(args.seed)
    pairs: dict[str, str] = {}
    stale = 0
    while len(pairs) < args.count:
        source, target = pair(rng)
        stale = stale + 1 if source in pairs else 0
        if stale == STALE_DRAWS:
            sys.exit(
                f"error: --count={args.count}: only {len(pairs)} distinct sources found "
                f"({STALE_DRAWS:,} draws in a row gave none new); ask for fewer"
            )
        pairs.setdefault(source, target)
    Path(args.out).write_text("".join(f"{s}\t{t}\n" for s, t in pairs.items()), encoding="utf-8")
    print(f"wrote {len(pairs)} pairs to {args.out}")
