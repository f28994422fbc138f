"""`trainer.time_budget`: the plan's arithmetic (fast), and toy runs of a budget of seconds
that end in time with their schedule spent, and keep their plan when resumed (slow)."""

import json
import time
import types

import keras
import pytest
from omegaconf import OmegaConf

import seq2seq
from conftest import InterruptAtEpoch
from seq2seq import ConfigError
from seq2seq.base.errors import Interrupted
from seq2seq.training import keras_fit, time_budget
from seq2seq.training.budget_guard import BudgetGuard
from seq2seq.training.time_budget import Timing

TIMING = Timing(first_step=2.0, step=0.1, first_validation=1.0, validation=0.5)


def trainer(**keys):
    base = {"epochs": 4, "warmup_steps": 0, "average_checkpoints": 0, "steps_per_epoch": None}
    return OmegaConf.create({**base, **keys})


def test_the_plan_spends_what_is_left_after_the_reserve():
    plan = time_budget.plan("100s", 10.0, TIMING, trainer(), held_out_ratio=2.0)
    # 2 s tracing, 1 + 3 x 0.5 s validating, 1.5 x 1 + 0.5 x 2 s finishing: 7 s reserved.
    assert plan["reserved_seconds"] == {"first_step": 2.0, "validation": 2.5, "finish": 2.5}
    left = 100 - 10 - 7
    steps = int(time_budget.STEP_SHARE * left / (0.1 + time_budget.CALLBACK_SECONDS_PER_STEP))
    assert (plan["epochs"], plan["steps_per_epoch"]) == (4, steps // 4)
    assert plan["steps"] == 4 * (steps // 4)
    assert "4 epochs of" in plan["reason"] and plan["budget_seconds"] == 100


def test_the_steps_are_timed_for_a_hundredth_of_the_budget_within_bounds():
    assert time_budget.probe_seconds(45 * 60) == pytest.approx(27.0)
    assert time_budget.probe_seconds(50) == time_budget.PROBE_SECONDS == 2.0
    assert time_budget.probe_seconds(24 * 3600) == time_budget.PROBE_MAX_SECONDS == 30.0


def test_the_warmup_is_cut_to_a_tenth_of_the_planned_steps():
    plan = time_budget.plan("100s", 10.0, TIMING, trainer(warmup_steps=5000), 2.0)
    assert plan["warmup_steps"] == int(plan["steps"] * time_budget.WARMUP_SHARE)
    assert time_budget.plan("100s", 10.0, TIMING, trainer(warmup_steps=3), 2.0)["warmup_steps"] == 3


def test_fewer_steps_than_epochs_shorten_the_run_and_its_averaging_window():
    slow = Timing(first_step=1.0, step=2.0, first_validation=0.1, validation=0.1)
    plan = time_budget.plan("20s", 0.0, slow, trainer(epochs=20, average_checkpoints=10), 1.0)
    assert plan["epochs"] == plan["steps"] < 20
    assert plan["average_checkpoints"] == max(1, round(10 * plan["epochs"] / 20))


def test_a_budget_that_holds_no_step_is_refused_with_the_least_that_would():
    with pytest.raises(
        ConfigError, match=r"trainer.time_budget='5s': leaves no time to train: .*at least \d+s"
    ):
        time_budget.plan("5s", 4.0, TIMING, trainer(), 2.0)


def test_the_plan_replaces_the_trainer_keys_it_decides():
    cfg = OmegaConf.create({"trainer": trainer(epochs=3, warmup_steps=100)})
    plan = {"epochs": 2, "steps_per_epoch": 7, "warmup_steps": 1, "average_checkpoints": 1}
    applied = time_budget.apply(cfg, plan)
    assert {k: applied.trainer[k] for k in plan} == plan
    assert cfg.trainer.epochs == 3  # the config as written is left as it is


#: A toy's budget: enough on a loaded 2-core AMD EPYC for the probe, the tracing and the
#: finish (about 12 s there unloaded, 6 s before the plan and 6 s reserved) with time left to
#: train: a 40 s budget ended in 24 s there. The plan scales its steps to the step times it
#: measures, so a slower machine trains fewer steps, not longer. A run may overrun its plan by
#: what nothing measured (STEP_SHARE's comment): ending within the budget plus TOLERANCE passes.
BUDGET = 50
TOLERANCE = 0.25
BUDGETED = (f"trainer.time_budget={BUDGET}s", "trainer.epochs=3", "trainer.precision=float32",
            "trainer.early_stopping.monitor=off")  # fmt: skip


class LastRate(keras.callbacks.Callback):
    """The learning rate the optimizer would use after the run's last step."""

    def on_train_end(self, logs=None):
        self.rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


@pytest.fixture(scope="module")
def budgeted_run(tmp_path_factory, data_dir):
    from conftest import TINY
    from seq2seq import compose_config

    run_dir = tmp_path_factory.mktemp("budgeted")
    cfg = compose_config([*TINY, f"data_dir={data_dir}", *BUDGETED])
    last = LastRate()
    # The share before 0.85: what nothing measures (checkpoints, TensorBoard each epoch) is a
    # larger part of a toy's 15 s epochs than of the recipe's 2-minute ones, and the other
    # worker's load comes and goes: at 0.75 a fresh clone's suite on a 2-core Xeon ran the
    # epochs at 26 ms a step where the plan had timed 16, the guard projected 51 s of 50 and
    # cut the schedule these tests check. A quarter (half until 2026-12-08) leaves the guard
    # more room still and the run 5 s shorter in a suite: these tests check that the plan
    # is spent and kept, not how much of the budget it fills. The default share's
    # arithmetic is test_the_plan_spends_what_is_left_after_the_reserve's.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time_budget, "STEP_SHARE", 0.25)
        start = time.perf_counter()
        seq2seq.train(cfg, run_dir=str(run_dir), callbacks=[last])
    return run_dir, time.perf_counter() - start, last.rate


@pytest.mark.slow
def test_a_budgeted_run_ends_within_its_budget(budgeted_run):
    _, seconds, _ = budgeted_run
    assert seconds <= BUDGET * (1 + TOLERANCE), seconds


@pytest.mark.slow
def test_a_budgeted_run_spends_its_schedule_and_records_its_plan(budgeted_run):
    run_dir, _, rate = budgeted_run
    assert rate == pytest.approx(0.0, abs=1e-6)  # the cosine decayed to its end
    record = json.loads((run_dir / "run.json").read_text())
    plan = record["time_budget"]
    assert plan == json.loads((run_dir / "time_budget.json").read_text())
    assert plan["budget_seconds"] == BUDGET and plan["steps"] > plan["epochs"] == 3
    assert set(plan["measured"]) == {"first_step", "step", "first_validation", "validation"}
    assert record["train_steps"] == plan["steps"] == 3 * plan["steps_per_epoch"]
    assert record["epochs_trained"] == 3


@pytest.mark.slow
def test_a_resumed_budgeted_run_keeps_its_plan(tiny_cfg, tmp_path, monkeypatch):
    # Unguarded: on a loaded machine the guard (tested below) may end the run after epoch 1,
    # before the interruption this test resumes from (seen under a 2-worker suite, 15 s epochs).
    monkeypatch.setattr(keras_fit, "_budget_guard", lambda run, epochs: None)
    # Shorter than BUDGET, and a quarter of what is left planned for the steps (the plan's
    # arithmetic is tested above): it need not end in time, only keep its plan.
    monkeypatch.setattr(time_budget, "STEP_SHARE", 0.25)
    budgeted = (*BUDGETED, "trainer.time_budget=20s")
    with pytest.raises(Interrupted):
        seq2seq.train(tiny_cfg(*budgeted), run_dir=str(tmp_path), callbacks=[InterruptAtEpoch(1)])
    planned = json.loads((tmp_path / "time_budget.json").read_text())
    seq2seq.train(tiny_cfg(*budgeted, "trainer.resume=true"), run_dir=str(tmp_path))
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["time_budget"] == planned
    assert record["resumed_from_epoch"] == 2
    assert record["train_steps"] == planned["steps"]
    assert record["train_steps_this_process"] == 2 * planned["steps_per_epoch"]


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_guard_ends_training_once_the_epochs_left_would_overrun_the_budget():
    clock = _Clock()
    guard = BudgetGuard(100, started=0.0, finish_seconds=10, epochs=5, clock=clock)
    guard.set_model(types.SimpleNamespace(stop_training=False))
    clock.now = 20.0  # planning and the data: 20 s before fit
    guard.on_train_begin()
    clock.now = 33.0  # an epoch of 13 s: 20 + 13 + 4 x 13 + 10 = 95 s, within 100
    guard.on_epoch_end(0)
    assert not guard.model.stop_training and guard.stopped is None
    clock.now = 50.0  # the machine got busier: 15 s an epoch, 50 + 3 x 15 + 10 = 105 s
    guard.on_epoch_end(1)
    assert guard.model.stop_training and guard.stopped["after_epoch"] == 2
    assert "105 s of the 100 s budget" in guard.stopped["reason"]
    # The last epoch is never cut short: nothing is left to skip.
    last = BudgetGuard(10, 0.0, 10, epochs=1, clock=clock)
    last.set_model(types.SimpleNamespace(stop_training=False))
    last.on_train_begin()
    last.on_epoch_end(0)
    assert not last.model.stop_training


def test_only_a_fresh_budgeted_run_is_guarded():
    from seq2seq.training.keras_fit import _budget_guard

    plan = {"budget_seconds": 60.0, "reserved_seconds": {"finish": 5.0}}

    def run(facts, resuming=False, started=1.0):
        return types.SimpleNamespace(facts=facts, resuming=resuming, started=started)

    guard = _budget_guard(run({"time_budget": plan}), 3)
    assert (guard.budget, guard.finish, guard.epochs, guard.started) == (60.0, 5.0, 3, 1.0)
    assert _budget_guard(run({}), 3) is None
    assert _budget_guard(run({"time_budget": plan}, resuming=True), 3) is None
