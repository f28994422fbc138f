"""What a first run on a large file of pairs costs before its first step: the checks'
read and the data's (`validate`, then `seq2seq.data.tsv.load`), timed with the peak
memory of the process, on a generated file of about a million pairs.

It times the code of the checkout it runs in (`--repo`, default this one), each phase in a
process of its own, so that an older commit can be timed the same way from a worktree:

    python benchmarks/first_read.py [--pairs 1000000] [--repo PATH]

A run on a cached store (the same file again) is timed too: its checks' read alone.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

#: Runs in a fresh process of the checkout timed: the checks and the data's load.
PHASES = """
import json, resource, sys, time
from seq2seq import compose_config, validate
from seq2seq.data import tsv
path, data_dir = sys.argv[1], sys.argv[2]
cfg = compose_config(["task=tsv", f"task.path={path}", "task.tokenizer=char"])
start = time.perf_counter()
validate(cfg)
checked = time.perf_counter()
data = tsv.load(cfg.task, cfg.seed, data_dir)
loaded = time.perf_counter()
print(json.dumps({"checks_s": round(checked - start, 1), "data_s": round(loaded - checked, 1),
                  "total_s": round(loaded - start, 1), "training_pairs": len(data.train),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def write_pairs(path: Path, count: int) -> None:
    """`count` pairs of a random word of 3 to 12 letters and its reverse, seeded."""
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(count):
            word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 12)))
            f.write(f"{word}\t{word[::-1]}\n")


def timed(repo: Path, path: Path, data_dir: Path) -> dict:
    """The phases' figures in a fresh process of `repo`'s code."""
    result = subprocess.run(
        [sys.executable, "-c", PHASES, str(path), str(data_dir)],
        cwd=repo, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)},
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "pairs.tsv"
        write_pairs(path, args.pairs)
        first = timed(args.repo, path, Path(scratch) / "data")
        cached = timed(args.repo, path, Path(scratch) / "data")
    print(json.dumps({"repo": str(args.repo), "pairs": args.pairs, "first_run": first,
                      "cached_store": cached}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
