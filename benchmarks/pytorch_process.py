"""The framework's side of every PyTorch reference: the data written to a file, the plain
PyTorch script run on it in a process of its own, its figures read back.

A PyTorch reference measured inside the TensorFlow process shares its cores with
TensorFlow's thread pools and its memory allocator: the G2P-sized step measured 160 ms there
against 57 ms alone (issue 30), and the default task's script 39 s against 18 s. So each
reference (benchmarks/pytorch_reference.py, benchmarks/pytorch_attention.py) is a script
that imports neither TensorFlow nor the framework's TensorFlow half, reads the very arrays
or batches the framework trains on from an .npz written here, runs on as many threads as
the framework (`torch.set_num_threads`), and prints its figures as JSON on its last line.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from seq2seq.data import pipeline

BENCHMARKS = Path(__file__).resolve().parent


def framework_threads() -> int:
    """The threads TensorFlow runs an op on here: its setting, or every core it may use."""
    return tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))


def task_arrays(task_data) -> dict:
    """A task's splits as plain arrays: the training split's teacher-forcing arrays (what
    `pipeline.teacher_forcing_arrays` makes), the held-out ids, the vocabulary sizes."""
    x, y, weight = pipeline.teacher_forcing_arrays(task_data.train)
    return {
        "source": np.asarray(x["encoder_token_ids"], np.int64),
        "decoder_input": np.asarray(x["decoder_token_ids"], np.int64),
        "target": np.asarray(y, np.int64),
        "weight": np.asarray(weight, np.float32),
        "val_source": np.asarray(task_data.val.source_ids, np.int64),
        "val_target": np.asarray(task_data.val.target_ids, np.int64),
        "test_source": np.asarray(task_data.test.source_ids, np.int64),
        "test_target": np.asarray(task_data.test.target_ids, np.int64),
        "sizes": np.array((task_data.vocabs.source.size, task_data.vocabs.target.size), np.int64),
    }


def epoch_batches(batches_of_epoch, epochs: int) -> dict:
    """Each epoch's framework batches `(x, y, weight)`, as arrays named `e{E}_b{B}_{part}`."""
    arrays = {"epochs": np.array(epochs)}
    for epoch in range(epochs):
        batches = batches_of_epoch(epoch)
        arrays[f"e{epoch}_batches"] = np.array(len(batches))
        for b, (x, y, weight) in enumerate(batches):
            parts = (x["encoder_token_ids"], x["decoder_token_ids"], y, weight)
            for name, part in zip(("source", "decoder_input", "target", "weight"), parts):
                arrays[f"e{epoch}_b{b}_{name}"] = np.asarray(part)
    return arrays


def run_script(script: str, arrays: dict, *args: str) -> dict:
    """Writes `arrays` to an .npz and runs `python benchmarks/SCRIPT FILE.npz ARGS
    --threads N` in a process of its own, N the framework's threads.

    Args:
        script: the file in benchmarks/.
        arrays: what the script reads.
        args: its other arguments (a mode first, where it has modes).

    Returns:
        The JSON its last line of output holds.

    Raises:
        RuntimeError: if the script fails, with its last lines of error output; or if
            TensorFlow was loaded in it (the reference would not run alone).
    """
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "data.npz"
        np.savez(path, **arrays)
        command = [sys.executable, str(BENCHMARKS / script), *args, str(path)]
        command += ["--threads", str(framework_threads())]
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(command[1:3])} exited with {result.returncode}:\n{tail}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures.get("tensorflow_loaded"):
        raise RuntimeError(f"{script} loaded TensorFlow: its figures are not PyTorch's alone")
    return figures
