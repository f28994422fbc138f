"""`trainer.precision=auto`: the arithmetic this machine runs fastest, chosen from what it has.

Measured on 2-core machines (docs/performance.md): with AMX, bfloat16 trained the
benchmark's LSTM at 1.17x the bare float32 model (Intel Xeon). With AVX-512 BF16 but no
AMX (AMD EPYC Zen 4) it was 1.27x float32 per step on that LSTM, but on the real-data
experiments 0.86x to 1.06x per epoch, with more epochs to the same plateau (30 against 23
for tense_subword) and less accuracy (number_words 99.0% against 99.5%): slower to a good
model, so float32 there. On a CPU with neither it was reported at 0.88x of float32. A GPU
computes in float16 with loss scaling.

Reading the CPU's flags needs no TensorFlow; whether a GPU is present is the caller's to
say, as only TensorFlow knows.
"""

from pathlib import Path
from typing import NamedTuple

CPUINFO = Path("/proc/cpuinfo")


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
