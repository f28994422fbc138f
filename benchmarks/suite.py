"""`make bench`: every benchmark in one run, written as benchmarks/results/bench.{json,md}.

- training throughput of the framework against a bare keras-io-style model, and the
  framework's time to 99% held-out exact-match (benchmarks/training.py);
- decoding throughput (benchmarks/decoding.py, run as its own process);
- a default `python train.py` run in its own process: its peak resident memory, time
  and exact-match.

    python benchmarks/suite.py [--repeats 5]
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import training

from seq2seq.training.hardware import cpu_flags

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


#: The CPU flags that decide the precision and the speed of these models.
FLAGS_OF_NOTE = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def machine() -> str:
    """The CPU model, core count and flags of note, as lscpu and /proc/cpuinfo say."""
    name = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    flags = cpu_flags()
    present = [flag for flag in FLAGS_OF_NOTE if flag in flags]
    absent = [flag for flag in FLAGS_OF_NOTE if flag not in flags]
    return (
        f"{name}, {len(os.sched_getaffinity(0))} cores; flags: {' '.join(present) or 'none'}"
        f" (without: {' '.join(absent) or 'none'})"
    )


def default_run() -> dict:
    """Runs `python train.py` with its defaults in a child process and measures it."""
    with tempfile.TemporaryDirectory() as run_dir:
        process = subprocess.Popen(
            [sys.executable, "train.py", f"hydra.run.dir={run_dir}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # wait4 gives this child's own resource use (getrusage would mix in the others).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"python train.py exited with {process.returncode}")
        record = json.loads((Path(run_dir) / "run.json").read_text())
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    peak_kib = usage.ru_maxrss  # KiB on Linux
    return {
        "peak_memory_mib": round(peak_kib / 1024),
        "train_seconds": record["train_seconds"],
        # How long fit took to return after its last epoch (about 0; see data/pipeline.py).
        "seconds_after_last_epoch": record["seconds_after_last_epoch"],
        "train_sequences_per_second": record["train_sequences_per_second"],
        "test_exact_match": metrics["test"]["exact_match"],
    }


def decoding(repeats: int) -> dict:
    subprocess.run(
        [sys.executable, "benchmarks/decoding.py", "--repeats", str(repeats)], cwd=ROOT, check=True
    )
    return json.loads((RESULTS / "decoding.json").read_text())["sequences_per_second"]


def markdown(figures: dict) -> str:
    train = figures["training"]
    defaults = train["framework_defaults"]
    lines = [
        f"Measured {figures['date']} on {figures['machine']}; medians of {train['repeats']} repeats.",
        f"The framework's defaults here: {defaults['precision']} ({defaults['precision_reason']}),"
        f" {defaults['steps_per_execution']} steps per graph call.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    to_torch = train["ratio_to_pytorch"] or {}
    for name, rate in train["sequences_per_second"].items():
        ratio = f"{train['ratio_to_bare_keras'][name]:.2f}x bare Keras"
        if name in to_torch:
            ratio += f", {to_torch[name]:.2f}x PyTorch"
        lines.append(f"| training, {name} | {rate:,} sequences/s ({ratio}) |")
    reached = train["time_to_99"]
    for name, run in reached.items():
        versus = ""
        if (
            name != "pytorch"
            and "pytorch" in reached
            and run["seconds"]
            and reached["pytorch"]["seconds"]
        ):
            versus = f", {run['seconds'] / reached['pytorch']['seconds']:.2f}x PyTorch's time"
        lines.append(
            f"| {name}: time to 99% held-out exact-match | {run['seconds']} s, "
            f"{run['steps']} steps{versus} |"
        )
    for name, rate in figures["decoding"].items():
        lines.append(f"| decoding, {name} | {rate:,.1f} sequences/s |")
    run = figures["default_run"]
    lines.append(
        f"| default `python train.py` | peak memory {run['peak_memory_mib']:,} MiB, "
        f"{run['train_seconds']} s training, test exact-match {run['test_exact_match']:.3f}, "
        f"fit returned {run['seconds_after_last_epoch']} s after its last epoch |"
    )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    figures = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "default_run": default_run(),
        "training": training.measure(args.repeats),
        "decoding": decoding(args.repeats),
    }
    table = markdown(figures)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench.md").write_text(table)
    (RESULTS / "bench.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
