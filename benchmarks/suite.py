"""`make bench`: every benchmark in one run, written as benchmarks/results/bench.{json,md}.

- training throughput of the framework against a bare keras-io-style model, and the
  framework's time to 99% held-out exact-match (benchmarks/training.py);
- decoding throughput (benchmarks/decoding.py, run as its own process);
- a default `python train.py` run in its own process: its peak resident memory, time
  and exact-match, against the plain PyTorch script of the same model and task
  (benchmarks/pytorch_reference.py `script_run`), runs alternating;
- the real-data setting (benchmarks/real_data.py): milliseconds per training step of
  the attention model against the plain PyTorch reference on the same batches.

    python benchmarks/suite.py [--repeats 5] [--default-runs 2]
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import real_data
import training
from machine import machine
from pytorch_process import run_script, task_arrays

from seq2seq import compose_config
from seq2seq.data.load import load_task_data

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


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


def default_task_arrays() -> dict:
    """The default task's splits and batch size, as the plain PyTorch script reads them."""
    cfg = compose_config([])
    data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    return {**task_arrays(data), "batch": np.array(cfg.trainer.batch_size)}


def pytorch_script(arrays: dict) -> dict:
    """The plain PyTorch script of the default task (its model, data and batch size, until
    99% validation exact-match checked every 100 steps), in a child process of its own
    like the default run, on the framework's threads: in this process, where TensorFlow and
    Keras are loaded, the same script measured 39 s against 18 s alone."""
    return run_script("pytorch_reference.py", arrays, "script")


def default_runs(count: int) -> dict:
    """`count` default runs and as many PyTorch scripts, alternating; the medians' ratio."""
    runs, scripts = [], []
    arrays = default_task_arrays() if training.torch_installed() else None
    for _ in range(count):
        runs.append(default_run())
        if arrays is not None:
            scripts.append(pytorch_script(arrays))
    median = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    figures = {"runs": runs, "train_seconds": median(runs, "train_seconds")}
    if scripts and all(s["seconds"] for s in scripts):
        figures["pytorch_script"] = scripts
        figures["pytorch_seconds"] = median(scripts, "seconds")
        figures["ratio_to_pytorch_script"] = round(
            figures["train_seconds"] / figures["pytorch_seconds"], 3
        )
    return figures


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
    default = figures["default_run"]
    for run in default["runs"]:
        lines.append(
            f"| default `python train.py` | peak memory {run['peak_memory_mib']:,} MiB, "
            f"{run['train_seconds']} s training, test exact-match {run['test_exact_match']:.3f}, "
            f"fit returned {run['seconds_after_last_epoch']} s after its last epoch |"
        )
    for script in default.get("pytorch_script", []):
        lines.append(
            f"| the plain PyTorch script of the default task, to 99% validation exact-match "
            f"| {script['seconds']} s, {script['steps']} steps, test exact-match "
            f"{script['test_exact_match']:.3f} |"
        )
    if "ratio_to_pytorch_script" in default:
        lines.append(
            f"| default run's training time / the PyTorch script's (medians) | "
            f"{default['train_seconds']} s / {default['pytorch_seconds']} s = "
            f"**{default['ratio_to_pytorch_script']:.2f}x** |"
        )
    real = figures.get("real_data")
    if real:
        ratios = real["ratio_to_pytorch"]
        for name, ms in real["ms_per_step"].items():
            versus = f" ({ratios[name]:.2f}x PyTorch's speed)" if name in ratios else ""
            lines.append(f"| real-data setting, {name} | {ms} ms a step{versus} |")
        for name, rate in real["greedy_decoding_sequences_per_second"].items():
            lines.append(f"| real-data setting, greedy decoding, {name} | {rate:,} sequences/s |")
        lines.append(
            f"| real-data setting | {real['setting']}; {real['parameters']:,} parameters, "
            f"precision auto: {real['precision']}, {real['padding_share']:.0%} padding |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--default-runs", type=int, default=2)
    args = parser.parse_args()
    figures = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "default_run": default_runs(args.default_runs),
        "training": training.measure(args.repeats),
        "decoding": decoding(args.repeats),
    }
    if training.torch_installed():
        figures["real_data"] = real_data.measure(repeats=min(args.repeats, 3))
    table = markdown(figures)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench.md").write_text(table)
    (RESULTS / "bench.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
