"""`trainer.time_budget` before TensorFlow loads: the forms it takes, and the refusals of
values and combinations a budgeted run could not honour, each in one line."""

import pytest

from seq2seq import ConfigError, compose_config, validate
from seq2seq.config.constraints import duration_seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45m", 2700), ("90s", 90), ("1h30m", 5400), ("2.5h", 9000), ("1h2m3s", 3723),
     ("90", 90), ("2.5", 2.5), (" 20S ", 20)],
)  # fmt: skip
def test_a_budget_reads_as_seconds(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["abc", "0", "0m", "-5", "1m30h", "h", "", "nan", "inf", "5 m"])
def test_a_budget_that_is_no_duration_is_refused_naming_the_forms(text):
    cfg = compose_config([f"trainer.time_budget='{text}'"])
    with pytest.raises(ConfigError, match=r"trainer.time_budget=.*: must be a duration above 0"):
        validate(cfg)


def test_a_budget_given_as_a_number_of_seconds_validates():
    cfg = compose_config(["trainer.time_budget=90"])
    validate(cfg)
    assert cfg.trainer.time_budget == "90"


def test_steps_per_epoch_under_a_budget_is_refused():
    cfg = compose_config(["trainer.time_budget=45m", "trainer.steps_per_epoch=100"])
    with pytest.raises(
        ConfigError,
        match=r"trainer.steps_per_epoch=100: trainer.time_budget=45m plans the steps .*"
        r"allowed: null",
    ):
        validate(cfg)


def test_a_budget_under_multi_worker_is_refused():
    cfg = compose_config(["trainer.time_budget=45m", "trainer.strategy=multi_worker"])
    with pytest.raises(
        ConfigError, match=r"trainer.time_budget='45m': trainer.strategy=multi_worker cannot agree"
    ):
        validate(cfg)


@pytest.mark.parametrize(
    "overrides",
    [["trainer.lr_schedule=plateau"], ["trainer.epochs=7"], ["trainer.strategy=mirrored"],
     ["task=tsv"], ["trainer.resume=true"]],
)  # fmt: skip
def test_what_a_budget_can_honour_validates(overrides):
    validate(compose_config(["trainer.time_budget=45m", *overrides]))
