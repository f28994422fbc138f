"""Rewriting a run's TensorBoard event files when it resumes.

A run killed in the middle of epoch k may have written some of epoch k's summaries; the
resumed run writes epoch k again. Dropping every summary at step >= k from the old files
first leaves each step written exactly once: no gap, no duplicate.
"""

import os
import tempfile
from pathlib import Path

import tensorflow as tf
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2


def truncate_events(log_dir: Path, first_step: int) -> int:
    """Removes the summaries at steps >= `first_step` from every event file under `log_dir`.

    Files are read with TensorBoard's own loader, which stops cleanly at a record cut
    short by a kill, and replaced atomically.

    Returns:
        How many events were dropped.
    """
    dropped = 0
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        kept, removed = [], 0
        for record in RawEventFileLoader(str(path)).Load():
            event = event_pb2.Event.FromString(record)
            if event.HasField("summary") and event.step >= first_step:
                removed += 1
            else:
                kept.append(record)
        if removed:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".events-", suffix=".tmp")
            os.close(fd)
            with tf.io.TFRecordWriter(tmp) as writer:
                for record in kept:
                    writer.write(record)
            os.replace(tmp, path)
            dropped += removed
    return dropped
