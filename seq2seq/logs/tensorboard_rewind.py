"""Rewriting a run's TensorBoard event files when it resumes.

A run killed in the middle of epoch k may have written some of epoch k's summaries; the
resumed run writes epoch k again. Dropping every summary at step >= k from the old files
(and every step-level one past epoch k's first optimizer step) first leaves each step
written exactly once: no gap, no duplicate.

Why not TensorBoard's own purge of orphaned data (`--purge_orphaned_data`): it drops the
later steps only in the view of TensorBoard's reader, while the files keep both copies
for every other reader (EventAccumulator with the flag off, tf.data, summary exports),
so the files themselves are rewritten here.
"""

from pathlib import Path

import tensorflow as tf
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2

from seq2seq.base.files import atomic_write

#: The tags of the figures written every few optimizer steps, whose step is counted in
#: optimizer steps, not epochs (`tensorboard_callbacks.FlushingTensorBoard`).
STEP_TAG_PREFIX = "batch_"


def _first_dropped(event, first_step: int, steps_per_epoch: int | None) -> int:
    """The first step of the event's kind that the resumed run writes again."""
    tags = [value.tag for value in event.summary.value]
    if tags and all(tag.startswith(STEP_TAG_PREFIX) for tag in tags):
        return first_step * (steps_per_epoch or 0) + 1
    return first_step


def truncate_events(log_dir: Path, first_step: int, steps_per_epoch: int | None = None) -> int:
    """Removes the summaries at steps >= `first_step` from every event file under `log_dir`,
    and the step-level ones (`batch_*`) past the optimizer steps of the epochs before it.

    Files are read with TensorBoard's own loader, which stops cleanly at a record cut
    short by a kill, and replaced atomically.

    Args:
        log_dir: the run's `tensorboard/` directory.
        first_step: the first epoch (0-based) the run writes again.
        steps_per_epoch: optimizer steps an epoch; None drops every step-level summary
            from step 1 on, as is right for `first_step` 0.

    Returns:
        How many events were dropped.
    """
    dropped = 0
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        kept, removed = [], 0
        for record in RawEventFileLoader(str(path)).Load():
            event = event_pb2.Event.FromString(record)
            if event.HasField("summary") and event.step >= _first_dropped(
                event, first_step, steps_per_epoch
            ):
                removed += 1
            else:
                kept.append(record)
        if removed:
            with atomic_write(path) as temporary, tf.io.TFRecordWriter(str(temporary)) as writer:
                for record in kept:
                    writer.write(record)
            dropped += removed
    return dropped
