"""Training until it is good: early stopping on a validation metric keeps the best epoch's
weights (and resumes exactly), checkpoints are pruned, and label smoothing, warmup and
gradient accumulation each change what they should."""

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
from seq2seq.training.compile import make_loss, make_optimizer

WATCHED = (
    "trainer.epochs=8",
    "trainer.early_stopping.monitor=val/loss",
    "trainer.early_stopping.patience=2",
)


def record(run_dir):
    return json.loads((run_dir / "run.json").read_text())


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, data_dir):
    """A run watched by early stopping that gets worse from its third epoch."""
    from conftest import TINY

    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    cfg = compose_config([*TINY, f"data_dir={data_dir}", *WATCHED, "trainer.keep_checkpoints=1"])
    metrics = seq2seq.train(cfg, run_dir=str(run_dir), callbacks=[WorseFrom(2)])
    return run_dir, metrics


@pytest.mark.slow
def test_training_stops_once_the_metric_stops_improving_and_says_why(stopped_run):
    run_dir, _ = stopped_run
    saved = record(run_dir)
    assert (
        saved["best_epoch"] == 2 and saved["epochs_trained"] == 4 and saved["monitor"] == "val/loss"
    )
    assert saved["stopped"] == "early stopping: val/loss did not improve for 2 epochs"
    # Every epoch's steps are counted, the ones after the best epoch too.
    assert saved["train_steps"] == 4 * (256 // 64)  # TINY: 256 training pairs, batches of 64


@pytest.mark.slow
def test_the_best_epochs_weights_are_the_model_and_its_metrics(stopped_run, tiny_cfg):
    run_dir, metrics = stopped_run
    model = keras.saving.load_model(run_dir / "model.keras")
    best = seq2seq.build_model(tiny_cfg().model, model.vocab_size)
    best.load_weights(run_dir / "checkpoints" / "epoch-002.weights.h5")
    for a, b in zip(model.weights, best.weights):
        np.testing.assert_array_equal(a, b)
    events = EventAccumulator(str(run_dir / "tensorboard" / "validation"))
    events.Reload()
    logged = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_loss")]
    assert metrics["val"]["loss"] == pytest.approx(logged[1], rel=1e-5) and logged[1] == min(logged)


@pytest.mark.slow
def test_pruning_keeps_the_best_and_the_latest_checkpoints(stopped_run):
    run_dir, _ = stopped_run
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("epoch-*"))
    assert kept == ["epoch-002.weights.h5", "epoch-004.weights.h5"]


@pytest.mark.slow  # make test-fast resumes early stopping's state in the goal's test below
def test_a_resumed_run_stops_where_the_uninterrupted_one_did(stopped_run, tiny_cfg, tmp_path):
    from conftest import TINY  # noqa: F401 - tiny_cfg composes it

    run_dir, metrics = stopped_run
    cfg = tiny_cfg(*WATCHED, "trainer.keep_checkpoints=1")
    with pytest.raises(Interrupted):
        seq2seq.train(cfg, run_dir=str(tmp_path), callbacks=[WorseFrom(2), InterruptAtEpoch(3)])
    resumed = seq2seq.train(tiny_cfg(*WATCHED, "trainer.keep_checkpoints=1", "trainer.resume=true"),
                            run_dir=str(tmp_path), callbacks=[WorseFrom(2)])  # fmt: skip
    assert resumed == metrics
    assert {k: record(tmp_path)[k] for k in ("best_epoch", "epochs_trained", "stopped")} == {
        k: record(run_dir)[k] for k in ("best_epoch", "epochs_trained", "stopped")
    }


class InterruptAtTrainEnd(keras.callbacks.Callback):
    """Ctrl-C after the last epoch's checkpoint, before the final save."""

    def on_train_end(self, logs=None):
        raise KeyboardInterrupt


GOAL = (
    "trainer.epochs=3",
    "trainer.early_stopping.monitor=val/loss",
    "trainer.early_stopping.goal=100.0",  # reached by any first epoch
)


@pytest.mark.slow  # about 5 s: keeps make test-fast under 2 minutes
def test_training_stops_at_the_goal_and_a_resumed_run_trains_no_more(tiny_cfg, tmp_path):
    with pytest.raises(Interrupted):
        seq2seq.train(tiny_cfg(*GOAL), run_dir=str(tmp_path), callbacks=[InterruptAtTrainEnd()])
    stopped = json.loads((tmp_path / "checkpoints" / "latest.json").read_text())
    # One epoch of 3 trained (TINY: 256 training pairs, batches of 64), then the goal.
    assert stopped["epoch"] == 1 and stopped["early_stopping"]["goal_reached"]
    seq2seq.train(tiny_cfg(*GOAL, "trainer.resume=true"), run_dir=str(tmp_path))
    resumed = record(tmp_path)
    assert resumed["epochs_trained"] == 1 and resumed["train_steps_this_process"] == 0
    assert resumed["train_steps"] == 256 // 64  # the optimizer's count: the one epoch trained
    assert resumed["stopped"] == "early stopping: val/loss reached the goal 100.0"


# --- what peers' users expect of training -------------------------------------------------


def test_label_smoothing_spreads_a_share_of_each_target_over_the_vocabulary(tiny_cfg):
    logits = np.log(np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]], "float32"))
    targets, weights = np.array([[0, 2]]), np.array([[1.0, 1.0]], "float32")
    plain = make_loss(tiny_cfg().trainer)(targets, logits, sample_weight=weights)
    smoothed = make_loss(tiny_cfg("trainer.label_smoothing=0.3").trainer)(
        targets, logits, sample_weight=weights
    )
    probs = np.exp(logits[0])
    expected = np.mean(
        [-(0.7 * np.log(p[t]) + 0.1 * np.log(p).sum()) for p, t in zip(probs, [0, 2])]
    )
    assert float(plain) == pytest.approx(np.mean(-np.log([0.7, 0.8])), rel=1e-5)
    assert float(smoothed) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_warmup_rises_from_zero_to_the_learning_rate_then_follows_the_schedule(tiny_cfg, schedule):
    trainer = tiny_cfg(f"trainer.lr_schedule={schedule}", "trainer.warmup_steps=10").trainer
    rate = make_optimizer(trainer, total_steps=110).learning_rate
    learning_rate = make_optimizer(trainer, total_steps=110)._learning_rate
    values = [float(learning_rate(step)) for step in (0, 5, 10, 60, 110)]
    assert values[:3] == pytest.approx([0.0, 0.005, 0.01])
    assert values[3:] == pytest.approx(
        [0.01, 0.01] if schedule == "constant" else [0.005, 0.0], abs=1e-6
    )
    assert float(rate) == 0.0  # the optimizer starts at the schedule's first value


def test_gradient_accumulation_updates_the_weights_every_n_batches(tiny_cfg):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=make_optimizer(tiny_cfg("trainer.gradient_accumulation_steps=3").trainer, 10),
        loss="mse",
    )
    x, y = np.ones((1, 3), "float32"), np.full((1, 1), 5.0, "float32")
    before = model.get_weights()[0].copy()
    changes = []
    for _ in range(3):
        model.train_on_batch(x, y)
        changes.append(not np.array_equal(model.get_weights()[0], before))
    assert changes == [False, False, True]


@pytest.mark.parametrize(
    "override,message",
    [
        (
            "trainer.early_stopping.monitor=val/speed",
            "trainer.early_stopping.monitor='val/speed': allowed: off, val/loss",
        ),
        (
            "trainer.early_stopping.patience=-1",
            "trainer.early_stopping.patience=-1: must be an integer >= 0",
        ),
        (
            "trainer.early_stopping.monitor=off trainer.early_stopping.goal=0.9",
            "trainer.early_stopping.goal=0.9: a goal needs a metric to reach",
        ),
        ("trainer.early_stopping.goal=nan", "trainer.early_stopping.goal=nan: must be a"),
        ("trainer.label_smoothing=1.0", "trainer.label_smoothing=1.0: must be a number in [0, 1)"),
        ("trainer.keep_checkpoints=0", "trainer.keep_checkpoints=0: must be an integer >= 1"),
        ("trainer.warmup_steps=-5", "trainer.warmup_steps=-5: must be an integer >= 0"),
        (
            "trainer.gradient_accumulation_steps=0",
            "trainer.gradient_accumulation_steps=0: must be an integer >= 1",
        ),
    ],
)
def test_bad_values_of_the_new_keys_are_refused_in_one_line(override, message):
    with pytest.raises(ConfigError) as error:
        validate(compose_config(override.split()))
    assert str(error.value).startswith(message)


def test_files_of_pairs_train_until_their_plateau_by_default():
    cfg = compose_config(["task=tsv"])
    assert (
        cfg.trainer.early_stopping.monitor == "val/token_error_rate" and cfg.trainer.epochs == 100
    )
    generated = compose_config().trainer.early_stopping
    assert generated.monitor == "val/exact_match" and generated.goal == 0.995
    assert compose_config(["task=tsv"]).trainer.early_stopping.goal is None
    # The search's trials train all their epochs: a stop at the goal would make the best tie.
    assert compose_config(["hparams_search=reverse_optuna"]).trainer.early_stopping.goal is None
    # A goal is only filled in for the metric it was chosen for.
    assert (
        compose_config(["trainer.early_stopping.monitor=val/loss"]).trainer.early_stopping.goal
        is None
    )
