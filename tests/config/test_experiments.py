"""Experiments and the debug setting: each composes, validates and runs a few steps."""

import pytest

import seq2seq
from seq2seq_config import CONFIG_DIR, compose_config, validate

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def test_there_are_experiments():
    assert {
        "attention_long",
        "benchmark",
        "bidirectional_gru",
        "deep_lstm",
        "repeat_vector",
    } <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_lists_only_what_differs(name):
    default, cfg = compose_config(), compose_config([f"experiment={name}"])
    validate(cfg)
    assert cfg != default
    # The experiment file keeps the schema: nothing but known keys.
    assert set(cfg) == set(default)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_runs_a_few_steps(name, data_dir, tmp_path):
    cfg = compose_config([f"experiment={name}", "debug=fast", f"data_dir={data_dir}"])
    assert cfg.task.train_size == 512 and cfg.trainer.epochs == 1
    experiment = compose_config([f"experiment={name}"])
    assert cfg.model == experiment.model  # debug keeps the experiment's model
    metrics = seq2seq.train(cfg, run_dir=str(tmp_path))
    assert set(metrics) == {"val", "test"}
    assert (tmp_path / "model.keras").exists()


def test_debug_setting_is_small_and_quiet():
    cfg = compose_config(["debug=fast"])
    validate(cfg)
    assert cfg.task.train_size <= 1000 and cfg.trainer.epochs == 1
    assert cfg.logging.images is False and cfg.logging.histogram_freq == 0
