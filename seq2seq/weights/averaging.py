"""Checkpoint averaging (`trainer.average_checkpoints=N`): the final model's weights become
the mean of the last N epochs' checkpoints, ending at the epoch the run keeps (the last
epoch trained, or the best one under early stopping), as OpenNMT-tf's
`average_last_checkpoints`, fairseq's `average_checkpoints.py` and `sockeye-average` do.

The `epoch-NNN.weights.h5` files hold the model's weights and the optimizer's state
(`checkpoints.py`); only the model's weights are averaged. Each file is loaded into the
model in turn (Keras reads its own format, whatever the layer names), its weights copied,
and the mean set last; the optimizer's state left behind is never used again.
"""

import logging
from pathlib import Path

import numpy as np

from seq2seq.weights.checkpoints import weights_name

log = logging.getLogger(__name__)


def averaged_epochs(final_epoch: int, count: int) -> list[int]:
    """The epochs averaged into the run's model: the `count` ending at `final_epoch`, or
    as many as were trained when fewer were."""
    return list(range(max(1, final_epoch - count + 1), final_epoch + 1))


def protected_epochs(final_epoch: int, count: int) -> set[int]:
    """The epochs whose checkpoints pruning must keep so that they can be averaged."""
    return set(averaged_epochs(final_epoch, max(count, 1)))


def mean_weights(arrays: list[list[np.ndarray]]) -> list[np.ndarray]:
    """The element-wise mean of several models' weights, each in its own dtype (integer
    weights, which are counters rather than parameters, keep the last model's value)."""
    means = []
    for values in zip(*arrays):
        last = values[-1]
        if np.issubdtype(last.dtype, np.integer) or last.dtype == np.bool_:
            means.append(last)
        else:  # any float, bfloat16 (not a numpy floating type) among them
            mean = np.mean([v.astype(np.float64) for v in values], axis=0)
            means.append(mean.astype(last.dtype))
    return means


def average_into(model, directory: Path, epochs: list[int]) -> list[int]:
    """Sets the model's weights to the mean of the given epochs' checkpoints that are on disk.

    A run that lost some of them (a deleted `checkpoints/`, a file removed by hand) still
    finishes: the epochs present are averaged, with one warning naming the missing ones;
    with none present the model is left as it is, said in one line.

    Args:
        model: the run's model.
        directory: the run's checkpoints/ directory.
        epochs: the epochs to average (`averaged_epochs`).

    Returns:
        The epochs actually averaged: those of `epochs` whose checkpoint was on disk.
    """
    present = [epoch for epoch in epochs if (directory / weights_name(epoch)).is_file()]
    missing = [epoch for epoch in epochs if epoch not in present]
    if missing and present:
        log.warning(
            "Cannot average epochs %s: their checkpoints are not in %s; averaging epochs %s",
            _listed(missing), directory, _listed(present),
        )  # fmt: skip
    elif missing:
        log.warning(
            "Cannot average epochs %s: their checkpoints are not in %s; the final model "
            "keeps the weights it has, not averaged",
            _listed(missing), directory,
        )  # fmt: skip
        return []
    weights = []
    for epoch in present:
        model.load_weights(directory / weights_name(epoch))
        weights.append([np.asarray(w) for w in model.get_weights()])
    model.set_weights(mean_weights(weights))
    log.info("Averaged the weights of epochs %s", _listed(present))
    return present


def _listed(epochs: list[int]) -> str:
    return ", ".join(map(str, epochs))
