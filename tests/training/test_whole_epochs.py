"""Every epoch trains exactly its steps, whatever `trainer.steps_per_execution`, with or
without a resume; run.json counts the steps the optimizer took, over the whole run."""

import json

import keras
import numpy as np
import pytest

import seq2seq
from conftest import InterruptAtEpoch
from seq2seq.base.errors import Interrupted

# 512 sequences in batches of 128: 4 steps an epoch.
SETTING = ("task.train_size=512", "trainer.batch_size=128", "trainer.epochs=3")


class IterationsAtEpochEnd(keras.callbacks.Callback):
    """Records the optimizer's step count at each epoch's end."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(int(self.model.optimizer.iterations.numpy()))


@pytest.mark.slow
@pytest.mark.parametrize("per_call", [2, 3], ids=["divides the epoch", "does not divide it"])
def test_each_epoch_trains_exactly_its_steps_before_and_after_a_resume(
    per_call, tiny_cfg, tmp_path
):
    cfg = tiny_cfg(*SETTING, f"trainer.steps_per_execution={per_call}")
    first = IterationsAtEpochEnd()
    with pytest.raises(Interrupted):
        seq2seq.train(cfg, run_dir=str(tmp_path), callbacks=[first, InterruptAtEpoch(2)])
    assert first.seen == [4, 8]  # no resume yet
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "interrupted"
    resumed = IterationsAtEpochEnd()
    seq2seq.train(tiny_cfg(*SETTING, f"trainer.steps_per_execution={per_call}", "trainer.resume=true"),
                  run_dir=str(tmp_path), callbacks=[resumed])  # fmt: skip
    assert resumed.seen == [12]
    record = json.loads((tmp_path / "run.json").read_text())
    # The optimizer's own count, as an uninterrupted run's: 3 epochs of 4 steps.
    assert record["train_steps"] == 12 and record["resumed_from_epoch"] == 3
    assert record["train_steps_this_process"] == 4


def _final_weights(run_dir):
    return keras.saving.load_model(run_dir / "model.keras").get_weights()


@pytest.mark.slow
def test_epochs_of_n_steps_cut_across_passes_and_resume_exactly(tiny_cfg, tmp_path):
    # Passes of 4 steps, epochs of 3: epoch 2 begins inside the first pass and ends in
    # the second; a run interrupted there and resumed ends with the uninterrupted weights.
    setting = (*SETTING, "trainer.steps_per_epoch=3", "trainer.early_stopping.monitor=off")
    whole = IterationsAtEpochEnd()
    seq2seq.train(tiny_cfg(*setting), run_dir=str(tmp_path / "whole"), callbacks=[whole])
    assert whole.seen == [3, 6, 9]
    record = json.loads((tmp_path / "whole" / "run.json").read_text())
    assert record["train_steps"] == 9 and record["epochs_trained"] == 3
    with pytest.raises(Interrupted):
        seq2seq.train(
            tiny_cfg(*setting), run_dir=str(tmp_path / "cut"), callbacks=[InterruptAtEpoch(2)]
        )
    seq2seq.train(tiny_cfg(*setting, "trainer.resume=true"), run_dir=str(tmp_path / "cut"))
    for a, b in zip(
        _final_weights(tmp_path / "whole"), _final_weights(tmp_path / "cut"), strict=True
    ):
        np.testing.assert_array_equal(a, b)
