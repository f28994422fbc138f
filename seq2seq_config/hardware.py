"""`trainer.precision=auto`: the arithmetic this machine runs fastest, chosen from what it has.

Measured by `make bench` (README, "Performance"): bfloat16 pays on CPUs that multiply
bfloat16 matrices in hardware: AMX (1.17x the bare float32 model on a 2-core Intel Xeon)
or AVX-512 BF16 (1.27x float32 on a 2-core AMD EPYC Zen 4, interleaved runs). On a CPU
with neither it was reported at 0.88x of float32: the conversions cost more than the
narrower arithmetic saves. A GPU computes in float16 with loss scaling. Everything else
trains in float32.

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
            "mixed_bfloat16", "auto: the CPU multiplies bfloat16 with AVX-512 BF16 (avx512_bf16)"
        )
    return Precision(
        "float32", "auto: the CPU has neither AMX nor AVX-512 BF16, where bfloat16 is slower"
    )
