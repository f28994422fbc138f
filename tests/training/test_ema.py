"""trainer.ema_momentum: Keras' moving average of the weights, which validation, checkpoints
and the final model read while training carries on from the trained weights; exact resume."""

import json

import keras
import numpy as np
import pytest

import seq2seq
from conftest import InterruptAtEpoch
from seq2seq import ConfigError, build_model, compose_config, validate
from seq2seq.base.errors import Interrupted
from seq2seq.training.compile import compile_model
from seq2seq.weights import checkpoints
from seq2seq.weights.ema import averaged, swap


def _trained_one_step(momentum=0.5):
    keras.utils.set_random_seed(0)
    cfg = compose_config(
        ["model.units=8", "model.embedding_dim=4", f"trainer.ema_momentum={momentum}"]
    )
    model = build_model(cfg.model, 12, 12)
    compile_model(model, cfg.trainer, total_steps=4)
    x = {
        "encoder_token_ids": np.full((4, 5), 4, np.int32),
        "decoder_token_ids": np.full((4, 6), 4, np.int32),
    }
    y = np.full((4, 6), 4, np.int32)
    # Two steps: the first copies the weights into the average, the second moves them apart.
    model.train_on_batch(x, y, sample_weight=np.ones((4, 6), np.float32))
    model.train_on_batch(x, y, sample_weight=np.ones((4, 6), np.float32))
    return model


def _averages(model):
    return [np.array(v) for v in model.optimizer._model_variables_moving_average]


@pytest.mark.slow
def test_the_optimizer_keeps_the_average_and_swap_exchanges_it_with_the_weights():
    model = _trained_one_step()
    trained = [np.array(v) for v in model.trainable_variables]
    average = _averages(model)
    assert any(not np.array_equal(a, b) for a, b in zip(trained, average))
    swap(model)
    for variable, expected in zip(model.trainable_variables, average):
        np.testing.assert_array_equal(np.array(variable), expected)
    for value, expected in zip(_averages(model), trained):
        np.testing.assert_array_equal(value, expected)


@pytest.mark.slow
def test_averaged_holds_the_average_inside_and_the_weights_after():
    model = _trained_one_step()
    trained = [np.array(v) for v in model.trainable_variables]
    average = _averages(model)
    with averaged(model):
        for variable, expected in zip(model.trainable_variables, average):
            np.testing.assert_array_equal(np.array(variable), expected)
    for variable, expected in zip(model.trainable_variables, trained):
        np.testing.assert_array_equal(np.array(variable), expected)


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1])
def test_a_momentum_outside_0_to_1_is_refused(value):
    with pytest.raises(ConfigError, match="trainer.ema_momentum"):
        validate(compose_config([f"trainer.ema_momentum={value}"]))


def test_multi_worker_refuses_the_average():
    cfg = compose_config(["trainer.strategy=multi_worker", "trainer.ema_momentum=0.99"])
    with pytest.raises(ConfigError, match="trainer.ema_momentum"):
        validate(cfg)


def _final_weights(run_dir):
    return keras.saving.load_model(run_dir / "model.keras").get_weights()


@pytest.mark.slow
def test_a_run_with_the_average_saves_it_and_resumes_exactly(tiny_cfg, tmp_path):
    setting = ("trainer.ema_momentum=0.9", "trainer.epochs=2", "trainer.early_stopping.monitor=off")
    seq2seq.train(tiny_cfg(*setting), run_dir=str(tmp_path / "whole"))
    final = _final_weights(tmp_path / "whole")
    # The last checkpoint holds the average as the model's weights: the final model's.
    model = keras.saving.load_model(tmp_path / "whole" / "model.keras")
    model.load_weights(tmp_path / "whole" / "checkpoints" / checkpoints.weights_name(2))
    for a, b in zip(model.get_weights(), final, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(Interrupted):
        seq2seq.train(
            tiny_cfg(*setting), run_dir=str(tmp_path / "cut"), callbacks=[InterruptAtEpoch(1)]
        )
    seq2seq.train(tiny_cfg(*setting, "trainer.resume=true"), run_dir=str(tmp_path / "cut"))
    for a, b in zip(final, _final_weights(tmp_path / "cut"), strict=True):
        np.testing.assert_array_equal(a, b)


class _LastValidation(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.figures = dict(logs)


@pytest.mark.slow
def test_validation_reads_the_average(tiny_cfg, tmp_path):
    seen = _LastValidation()
    setting = ("trainer.ema_momentum=0.9", "trainer.epochs=2", "trainer.early_stopping.monitor=off")
    seq2seq.train(tiny_cfg(*setting), run_dir=str(tmp_path), callbacks=[seen])
    # The final model is the last epoch's average: its figures are the ones the epoch logged.
    measured = json.loads((tmp_path / "metrics.json").read_text())["val"]
    assert seen.figures["val_loss"] == pytest.approx(measured["loss"], rel=1e-5)
