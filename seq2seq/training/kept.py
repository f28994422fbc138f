"""The weights a finished run keeps: the best epoch's when early stopping watched a metric,
then the average of the checkpoints `trainer.average_checkpoints` asks for; and what
run.json says of them."""

import logging
from pathlib import Path

from seq2seq.base.names import CHECKPOINTS_DIR
from seq2seq.training.callbacks import BestEpoch
from seq2seq.weights import averaging, checkpoints

log = logging.getLogger(__name__)


def keep_best(model, path: Path, best: BestEpoch | None, epochs_done: int, weights=None) -> dict:
    """Loads the best epoch's weights into `model` when early stopping watched a metric;
    says what the run keeps and why it stopped. A best epoch's checkpoint that is gone
    leaves the last epoch's weights, with a warning and `missing_checkpoints`.

    Args:
        model: the trained model.
        path: the run directory.
        best: early stopping's record (None when nothing was watched).
        epochs_done: epochs trained, over every process of the run.
        weights: the best epoch's weights held in memory (`model.get_weights()`), if
            this process has them; otherwise its checkpoint is loaded.

    Returns:
        What run.json records: `final_epoch`, `stopped`, and with early stopping
        `best_epoch`, `monitor`, `best_value`.
    """
    if best is None:
        return {"final_epoch": epochs_done, "stopped": "after trainer.epochs"}
    best_epoch = kept_epoch = best.best_epoch + 1
    missing = {}
    if best_epoch != epochs_done:
        checkpoint = path / CHECKPOINTS_DIR / checkpoints.weights_name(best_epoch)
        if weights is not None:
            model.set_weights(weights)
        elif checkpoint.is_file():
            model.load_weights(checkpoint)
        else:
            # Lost (a deleted checkpoints/, a file removed by hand): the run finishes
            # with the weights it holds, the last epoch's, rather than never.
            log.warning(
                "%s, the best epoch's checkpoint, is missing: the final model keeps "
                "the weights of epoch %d, the last trained",
                checkpoint, epochs_done,
            )  # fmt: skip
            kept_epoch = epochs_done
            missing = {"missing_checkpoints": [checkpoint.name]}
    if best.goal_reached:
        stopped = f"early stopping: {best.watched} reached the goal {best.goal}"
    elif best.stopped_epoch:
        stopped = f"early stopping: {best.watched} did not improve for {best.wait} epochs"
    else:
        stopped = "after trainer.epochs"
    if not missing:
        log.info(
            "Keeping epoch %d, the best by %s (%s); %s",
            best_epoch, best.watched, best.best, stopped,
        )  # fmt: skip
    return {
        "final_epoch": kept_epoch,
        "best_epoch": best_epoch,
        "monitor": best.watched,
        "best_value": best.best,
        "stopped": stopped,
        **missing,
    }


def keep_averaged(model, path: Path, count: int, kept: dict) -> dict:
    """Averages the last `count` checkpoints up to the kept epoch into `model`.

    Args:
        model: the trained model, holding the kept epoch's weights.
        path: the run directory.
        count: `trainer.average_checkpoints` (0: none).
        kept: `keep_best`'s.

    Returns:
        `kept`, with the epochs averaged (those on disk) and the files missing among them
        in `missing_checkpoints`.
    """
    if not count:
        return kept
    wanted = averaging.averaged_epochs(kept["final_epoch"], count)
    epochs = averaging.average_into(model, path / CHECKPOINTS_DIR, wanted)
    missing = [checkpoints.weights_name(e) for e in wanted if e not in epochs]
    if missing:
        kept = {**kept, "missing_checkpoints": [*kept.get("missing_checkpoints", ()), *missing]}
    return {**kept, "averaged_epochs": epochs}
