"""`trainer.lr_schedule=plateau`: the learning rate decays when early stopping's metric stops
improving, whatever the maximum epoch count; its state survives a resume; it is what files of
pairs train with unless told otherwise, and what it cannot do is refused."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seq2seq
from conftest import InterruptAtEpoch, WorseFrom
from seq2seq import ConfigError, compose_config, validate
from seq2seq.base.errors import Interrupted
from seq2seq.training.callbacks import PlateauDecay

PLATEAU = (
    "trainer.epochs=5",
    "trainer.lr_schedule=plateau",
    "trainer.plateau.patience=1",
    "trainer.early_stopping.monitor=off",  # the decay watches validation's loss on its own
)


def compiled(rate=0.01):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse")
    return model


def feed(callback, values, metric="val_token_error_rate"):
    """The learning rate after each epoch end that logs `values`."""
    rates = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {metric: value})
        rates.append(float(callback.model.optimizer.learning_rate))
    return rates


def test_the_rate_decays_after_patience_epochs_without_improvement_in_the_metrics_direction():
    decay = PlateauDecay("val/token_error_rate", factor=0.5, patience=2, min_lr=0.002)
    decay.set_model(compiled())
    decay.on_train_begin()
    # Lower is better for an error rate: 0.3 improves on 0.4; then two epochs without.
    assert feed(decay, [0.4, 0.3, 0.35, 0.31, 0.2, 0.25, 0.26, 0.27, 0.28]) == pytest.approx(
        [0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.002]
    )
    growing = PlateauDecay("val/exact_match", factor=0.5, patience=1, min_lr=0.0)
    growing.set_model(compiled())
    growing.on_train_begin()
    assert feed(growing, [0.5, 0.6, 0.55], "val_exact_match") == pytest.approx([0.01, 0.01, 0.005])


def test_its_state_is_given_back_on_resume():
    first = PlateauDecay("val/loss", factor=0.5, patience=2, min_lr=0.0)
    first.set_model(compiled())
    first.on_train_begin()
    feed(first, [1.0, 1.1], "val_loss")
    saved = first.state()["plateau"]
    assert saved == {"wait": 1, "best": 1.0, "cooldown_counter": 0}
    resumed = PlateauDecay("val/loss", factor=0.5, patience=2, min_lr=0.0, saved=saved)
    resumed.set_model(compiled())
    resumed.on_train_begin()
    # One more epoch without improvement decays, as it would have without the resume.
    assert feed(resumed, [1.2], "val_loss") == pytest.approx([0.005])


def test_files_of_pairs_decay_on_plateau_and_generated_tasks_follow_a_cosine():
    assert compose_config(["task=tsv"]).trainer.lr_schedule == "plateau"
    assert compose_config([]).trainer.lr_schedule == "cosine"
    assert (
        compose_config(["task=tsv", "trainer.lr_schedule=cosine"]).trainer.lr_schedule == "cosine"
    )


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["trainer.strategy=multi_worker"], "trainer.strategy=multi_worker supports only cosine"),
        (["trainer.warmup_steps=100"], "trainer.warmup_steps=100: trainer.lr_schedule=plateau"),
        (["trainer.plateau.factor=1.0"], "trainer.plateau.factor=1.0"),
        (["trainer.plateau.patience=0"], "trainer.plateau.patience=0"),
    ],
)
def test_what_plateau_cannot_do_is_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_config(["trainer.lr_schedule=plateau", *overrides]))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["trainer.learning_rate=0.001", "trainer.plateau.min_learning_rate=0.001"],
            "trainer.plateau.min_learning_rate=0.001: the rate starts at "
            "trainer.learning_rate=0.001 and never decays below this floor; allowed: below 0.001",
        ),
        (
            ["trainer.plateau.patience=5"],
            "trainer.plateau.patience=5: early stopping ends the run after "
            "trainer.early_stopping.patience=5 epochs without improvement, before the rate "
            "would decay; allowed: 1 to 4, or trainer.early_stopping.monitor=off",
        ),
        (
            ["trainer.early_stopping.patience=1"],
            "trainer.plateau.patience=1: early stopping ends the run after "
            "trainer.early_stopping.patience=1 epochs without improvement, before the rate "
            "would decay; allowed: a larger trainer.early_stopping.patience, or "
            "trainer.early_stopping.monitor=off",
        ),
    ],
)
def test_plateau_settings_that_could_never_decay_are_refused(overrides, message):
    for task in ([], ["task=tsv"]):
        with pytest.raises(ConfigError) as refused:
            validate(compose_config(["trainer.lr_schedule=plateau", *task, *overrides]))
        assert str(refused.value) == message


def test_a_fine_tuned_runs_floor_is_checked_against_the_rate_it_starts_at():
    from seq2seq.checks.validation import _check_plateau

    # A parent run's directory is checked elsewhere; the rate is what matters here.
    trainer = compose_config(["task=tsv", "trainer.learning_rate=5e-5"]).trainer
    _check_plateau(trainer)
    trainer.init_from = "/parent"
    with pytest.raises(ConfigError) as refused:
        _check_plateau(trainer)
    assert str(refused.value) == (
        "trainer.plateau.min_learning_rate=1e-05: the rate starts at 5e-06 "
        "(trainer.learning_rate=5e-05 x trainer.fine_tuning_rate=0.1) and never decays below "
        "this floor; allowed: below 5e-06"
    )


def test_plateau_settings_that_can_decay_are_accepted():
    validate(compose_config(["task=tsv", "trainer.plateau.patience=4"]))
    validate(compose_config(["task=tsv", "trainer.learning_rate=0.001"]))
    # Without early stopping, the run lasts trainer.epochs: any patience may act.
    validate(
        compose_config(
            ["task=tsv", "trainer.plateau.patience=9", "trainer.early_stopping.monitor=off"]
        )
    )


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["trainer.plateau.factor=0.3"], "trainer.plateau.factor=0.3: trainer.lr_schedule=cosine never decays on plateau; allowed: 0.5, or trainer.lr_schedule=plateau"),
        (["task=tsv", "trainer.lr_schedule=constant", "trainer.plateau.monitor=val/bleu"], "trainer.plateau.monitor='val/bleu': trainer.lr_schedule=constant never decays on plateau; allowed: 'val/loss', or trainer.lr_schedule=plateau"),
    ],
)  # fmt: skip
def test_plateau_keys_under_another_schedule_are_refused(overrides, message):
    # A generated task's null schedule is cosine.
    with pytest.raises(ConfigError) as refused:
        validate(compose_config(overrides))
    assert str(refused.value) == message
    validate(compose_config([o for o in overrides if "plateau" not in o]))


def learning_rates(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard" / "train"))
    events.Reload()
    return [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_learning_rate")]


@pytest.mark.slow
def test_a_run_decays_where_validation_stops_improving_and_resumes_exactly(tiny_cfg, tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    metrics = seq2seq.train(tiny_cfg(*PLATEAU), run_dir=str(whole), callbacks=[WorseFrom(2)])
    # Validation gets worse from the third epoch: each later epoch halves the rate.
    assert learning_rates(whole) == pytest.approx([0.01, 0.01, 0.01, 0.005, 0.0025])
    with pytest.raises(Interrupted):
        seq2seq.train(
            tiny_cfg(*PLATEAU), run_dir=str(cut), callbacks=[WorseFrom(2), InterruptAtEpoch(4)]
        )
    resumed = seq2seq.train(
        tiny_cfg(*PLATEAU, "trainer.resume=true"), run_dir=str(cut), callbacks=[WorseFrom(2)]
    )
    assert resumed == metrics
    state = [json.loads((d / "checkpoints" / "latest.json").read_text()) for d in (whole, cut)]
    assert state[0]["plateau"] == state[1]["plateau"] and state[0]["plateau"]["best"] is not None
    for a, b in zip(
        keras.saving.load_model(whole / "model.keras").weights,
        keras.saving.load_model(cut / "model.keras").weights,
    ):
        np.testing.assert_array_equal(a, b)
