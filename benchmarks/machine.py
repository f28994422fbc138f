"""The machine a benchmark ran on, in words: CPU model, cores, the flags of note, the load."""

import os
import platform
import subprocess

from seq2seq.machine.hardware import cpu_flags

#: The CPU flags that decide the precision and the speed of these models.
FLAGS_OF_NOTE = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_model() -> str:
    """The CPU's model name, as lscpu says it (the platform's words where lscpu is missing)."""
    name = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return name


def machine() -> str:
    """The CPU model, core count and flags of note, as lscpu and /proc/cpuinfo say."""
    flags = cpu_flags()
    present = [flag for flag in FLAGS_OF_NOTE if flag in flags]
    absent = [flag for flag in FLAGS_OF_NOTE if flag not in flags]
    return (
        f"{cpu_model()}, {len(os.sched_getaffinity(0))} cores; flags: {' '.join(present) or 'none'}"
        f" (without: {' '.join(absent) or 'none'})"
    )


def load_average() -> float:
    """The one-minute load average: other work sharing the cores shows here."""
    return round(os.getloadavg()[0], 2)
