"""What ships with the package is found from any directory, in the checkout too: the
configs, the samples (`${sample:NAME}`), the version, a user's own config directory."""

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, error_lines, imported_modules, run_script
from seq2seq import UserError, compose_config, validate
from seq2seq.base.version import __version__
from seq2seq.config.shipped import CONFIG_DIR, SAMPLES, SAMPLES_DIR, sample_path


def test_the_checkout_uses_its_top_level_configs_and_samples():
    assert CONFIG_DIR == ROOT / "configs" and SAMPLES_DIR == ROOT / "data"
    assert {path.name for path in SAMPLES_DIR.glob("*.tsv")} == set(SAMPLES)


@pytest.mark.parametrize(
    "overrides,sample",
    [
        (["task=tsv"], "number_words.tsv"),
        (["experiment=dates"], "dates.tsv"),
        (["experiment=tense_subword"], "tense_pairs.tsv"),
        (["task=tsv", "task.path=${sample:dates.tsv}", "task.tokenizer=char"], "dates.tsv"),
    ],
)
def test_a_shipped_sample_resolves_from_any_directory(overrides, sample, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = compose_config(overrides)
    validate(cfg)  # checks that the file exists, from this directory
    assert cfg.task.path == sample_path(sample) == str(SAMPLES_DIR / sample)
    assert f"path: {SAMPLES_DIR / sample}\n" in OmegaConf.to_yaml(cfg.task, resolve=True)


def test_an_unknown_sample_is_refused_with_the_shipped_ones():
    with pytest.raises(UserError, match=r"\$\{sample:nope.tsv\}: no such sample; allowed: dates"):
        sample_path("nope.tsv")


def test_an_unknown_sample_on_the_command_line_is_one_line_naming_it():
    result = run_script("train.py", "task=tsv", "task.path=${sample:nope.tsv}", timeout=60)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "error: task.path: ${sample:nope.tsv}: no such sample; allowed: dates.tsv, "
        "number_words.tsv, tense_pairs.tsv"
    ]


def test_train_py_prints_the_version_without_loading_tensorflow():
    result = run_script("train.py", "--version", timeout=60, import_times=True)
    assert result.returncode == 0 and result.stdout == f"seq2seq {__version__}\n"
    assert "tensorflow" not in imported_modules(result.stderr)


def test_config_dir_adds_a_users_experiment(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: attention\nmodel:\n  units: 48\n"
    )
    result = run_script(
        "train.py", "--config-dir", str(tmp_path), "experiment=mine", "--cfg", "job"
    )
    assert result.returncode == 0, result.stderr
    cfg = OmegaConf.create(result.stdout)
    assert cfg.model.name == "attention" and cfg.model.units == 48


def test_a_missing_config_dir_is_refused_in_one_line(tmp_path):
    result = run_script("train.py", "--config-dir", str(tmp_path / "none"), timeout=60)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: Additional config directory '{tmp_path / 'none'}' not found"
    ]


@pytest.mark.parametrize("command", ["evaluate", "predict", "modes"])
def test_the_module_commands_print_the_version_too(command, capsys):
    import importlib

    module = importlib.import_module(f"seq2seq.{command}")
    with pytest.raises(SystemExit) as stopped:
        module.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"seq2seq {__version__}\n"
