"""`trainer.precision=auto`: the arithmetic this machine runs fastest, measured where the
machine offers a choice.

A GPU computes in float16 with loss scaling. A CPU that multiplies bfloat16 natively (AMX,
`amx_bf16`, or AVX-512 BF16, `avx512_bf16`) has a real choice, and which precision is
faster there depends on the machine and the model: on a 2-core Intel Xeon with AMX the
benchmark's LSTM trained 1.17x faster in bfloat16 but the G2P-sized model 5-15% slower; on
an AMD EPYC Zen 4 (AVX-512 BF16) bfloat16 ran the LSTM 1.27x faster and the real-data
experiments 0.86x-1.06x per epoch (docs/performance.md). So there `auto` times a few
training steps of the run's own model in each precision (`step_seconds`, driven by
`seq2seq.training.precision_choice`) and keeps the faster (`pick_faster`): bfloat16 only
when its step is more than `MARGIN` shorter. A CPU with neither flag stays in float32
without measuring (bfloat16 was reported at 0.88x there).

`choose_precision` is the rule for the cases that need no measurement, and what `auto`
chose before it measured (a resumed run that predates the measurement keeps it). Reading
the CPU's flags, timing and picking need no TensorFlow; whether a GPU is present is the
caller's to say, as only TensorFlow knows.
"""

import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

CPUINFO = Path("/proc/cpuinfo")
#: The flags of a CPU that multiplies bfloat16 natively: where `auto` measures.
BFLOAT16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
#: What `auto` times on such a CPU; the first is the reference, kept on a tie.
MEASURED = ("float32", "mixed_bfloat16")
#: Another precision replaces the reference only when its step is shorter by more than
#: this share. On a shared 2-core AMD EPYC the ratio of float32's median step to
#: bfloat16's moved from 1.02x to 1.18x over four repeats on one model, and bfloat16 took
#: more epochs to the same plateau on two real-data experiments of three
#: (docs/performance.md): a smaller gain is noise, or is lost to those epochs.
MARGIN = 0.10


class Precision(NamedTuple):
    """A precision for `trainer.precision` and why it was chosen."""

    name: str
    reason: str


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The instruction-set flags of the first CPU, as Linux lists them.

    Args:
        cpuinfo: the file to read (Linux's /proc/cpuinfo).

    Returns:
        The flags, e.g. {"avx2", "avx512f", "amx_bf16", ...}; empty where the file is
        missing or lists none (another operating system).
    """
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # Features: ARM
            return frozenset(value.split())
    return frozenset()


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name, as Linux lists it ("" where the file has none).

    Args:
        cpuinfo: the file to read (Linux's /proc/cpuinfo).

    Returns:
        E.g. "AMD EPYC" or "Intel(R) Xeon(R) Platinum 8488C".
    """
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return ""


def choose_precision(
    requested: str, flags: frozenset[str], gpu: bool, float16_allowed: bool = True
) -> Precision:
    """Resolves `trainer.precision`: `auto` becomes what this machine runs fastest.

    Args:
        requested: the configured value: `auto`, or a precision, which is kept.
        flags: the CPU's flags (`cpu_flags()`).
        gpu: whether TensorFlow sees a GPU.
        float16_allowed: false where the training loop has no loss scaling for float16
            (`trainer.strategy=multi_worker`).

    Returns:
        The precision and the reason, for the log and run.json.
    """
    if requested != "auto":
        return Precision(requested, "set by trainer.precision")
    if gpu and float16_allowed:
        return Precision("mixed_float16", "auto: a GPU computes in float16")
    if gpu:
        return Precision("float32", "auto: a GPU, but this strategy has no float16 loss scaling")
    if "amx_bf16" in flags:
        return Precision("mixed_bfloat16", "auto: the CPU multiplies bfloat16 with AMX (amx_bf16)")
    if "avx512_bf16" in flags:
        return Precision(
            "float32",
            "auto: AVX-512 BF16 without AMX, where bfloat16 reached a good model no sooner",
        )
    return Precision("float32", "auto: the CPU has no AMX, where bfloat16 is slower")


def measures(requested: str, flags: frozenset[str], gpu: bool, multi_worker: bool = False) -> bool:
    """Whether `trainer.precision=auto` times the precisions (`MEASURED`) on this machine.

    Args:
        requested: the configured `trainer.precision`.
        flags: the CPU's flags (`cpu_flags()`).
        gpu: whether TensorFlow sees a GPU (float16 there, unmeasured).
        multi_worker: `trainer.strategy=multi_worker`, whose workers must train in one
            precision: each would measure its own machine, so the rule decides.

    Returns:
        True on a CPU with `BFLOAT16_FLAGS`, without a GPU, for `auto` on one machine.
    """
    return requested == "auto" and not gpu and not multi_worker and bool(flags & BFLOAT16_FLAGS)


def step_seconds(
    steps: Mapping[str, Callable[[int], object]],
    warmup: int,
    timed: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """The median seconds of one training step in each precision, timed by turns.

    Each precision first takes `warmup` untimed steps (on batches 0 .. warmup-1: the
    first traces the graph, the second retraces it for batch shapes that vary); then the
    precisions take turns, one step each, `timed` times (batches warmup ..). Turns make a
    load that changes during the measurement slow every precision alike; the median drops
    a step that another process interrupted.

    Args:
        steps: `precision -> step(batch_index)`, which trains one step and returns once
            it is done.
        warmup: untimed steps per precision.
        timed: timed steps per precision (at least 1).
        clock: seconds, monotonic (`time.perf_counter`; tests pass a fake).

    Returns:
        `precision -> median seconds of its timed steps`.
    """
    for step in steps.values():
        for index in range(warmup):
            step(index)
    seconds = {name: [] for name in steps}
    for index in range(warmup, warmup + timed):
        for name, step in steps.items():
            start = clock()
            step(index)
            seconds[name].append(clock() - start)
    return {name: statistics.median(times) for name, times in seconds.items()}


def pick_faster(seconds: Mapping[str, float], timed: int) -> Precision:
    """The precision `auto` keeps, given each one's median step (`step_seconds`).

    The reference (`MEASURED[0]`, float32) is kept unless another's step is shorter by
    more than `MARGIN`; among those, the fastest. A tie, or a gain within the margin,
    keeps float32: the more accurate arithmetic, at no measurable cost.

    Args:
        seconds: `precision -> median seconds of a step`, the reference among them.
        timed: how many steps each median is of (for the reason).

    Returns:
        The precision, and a reason that gives every time, for the log and run.json.
    """
    reference = MEASURED[0]
    others = {name: value for name, value in seconds.items() if name != reference}
    fastest = min(others, key=others.get)
    base = seconds[reference]
    times = ", ".join(f"{name} {value * 1000:.1f} ms" for name, value in seconds.items())
    ratio = base / max(seconds[fastest], 1e-12)
    measured = f"auto: measured a training step of this model ({times}; medians of {timed})"
    if seconds[fastest] < base * (1 - MARGIN):
        return Precision(fastest, f"{measured}: {fastest} {ratio:.2f}x as fast as {reference}")
    return Precision(
        reference,
        f"{measured}: {fastest} {ratio:.2f}x as fast as {reference}, not more than "
        f"{1 / (1 - MARGIN):.2f}x (the margin for noise), so {reference}",
    )
