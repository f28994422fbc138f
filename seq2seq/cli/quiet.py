"""TensorFlow's start-up lines kept off a command's terminal.

TensorFlow 2.21 logs through absl before absl is initialized, so `TF_CPP_MIN_LOG_LEVEL`
no longer silences them: every command printed `oneDNN custom operations are on`, `Could
not find cuda drivers`, `All log messages before absl::InitializeLog()`, the CPU feature
guard and, on a machine without a GPU, an E-level `failed call to cuInit` (predict twice:
a second library loads its own copy of the logger). A command's stderr therefore goes
through a pipe whose reader passes every line on except those (`NOISE`), so that a user
sees the framework's own lines, Python's warnings and tracebacks, and any other line of
TensorFlow's (its real errors among them). Setting `TF_CPP_MIN_LOG_LEVEL` (to any value,
0 shows all) turns the filter off: the user asked for TensorFlow's own behaviour.

Only a command's process installs it (the console scripts and `python -m` / `train.py`
entry points), never an import of the package.
"""

import atexit
import os
import re
import sys
import threading

#: The lines dropped: TensorFlow's notices (INFO), and the warnings and errors of its
#: start-up on a machine without a GPU or with a CPU that lacks an instruction set, none of
#: which the user can act on.
NOISE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions:"
    # Every INFO line; the WARNING and ERROR lines of these sources.
    rb"|I\d{4} "
    rb"|[WE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor"
    rb"|cuda_dnn|cuda_fft|cuda_blas|util)\.cc:\d+\] "
)


def _forward(read_end: int, terminal: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NOISE.match(line))
            if kept:
                os.write(terminal, kept)
        if pending and not NOISE.match(pending):
            os.write(terminal, pending)


def filter_tensorflow_noise() -> None:
    """Sends this process's stderr through the filter, for the rest of its life.

    Does nothing when the user set `TF_CPP_MIN_LOG_LEVEL`, or when stderr is not a file
    descriptor (an embedding interpreter).
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    reader = threading.Thread(target=_forward, args=(read_end, terminal), daemon=True)
    reader.start()

    def drain() -> None:
        # Whatever is in the pipe reaches the terminal before the process ends: fd 2 is
        # pointed back at it, which closes the pipe's last write end, and the reader ends.
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(terminal, 2)
        reader.join(timeout=5)

    atexit.register(drain)
