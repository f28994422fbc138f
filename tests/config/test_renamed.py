"""Keys named by what they count, and their old `_len` names accepted for one version."""

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import error_lines, run_script
from seq2seq import compose_config
from seq2seq.checks.command import finished_run_config
from seq2seq.config import renamed
from seq2seq.config.renamed import REMOVED_IN, RENAMED, renamed_overrides, upgraded

ROOT = Path(__file__).resolve().parents[2]
#: Each old name, a value it may take, and the config it belongs to.
EXAMPLES = {
    "task.min_len": (2, "train"),
    "task.max_len": (12, "train"),
    "task.target_len": (2, "train"),
    "task.max_source_len": (30, "train"),
    "task.max_target_len": (31, "train"),
    "eval.min_len": (12, "evaluate"),
    "eval.max_len": (15, "evaluate"),
    "decoding.min_len": (1, "predict"),
    "decoding.max_len": (9, "predict"),
    "max_input_len": (7, "predict"),
}


@pytest.fixture(autouse=True)
def fresh_notes(monkeypatch):
    """Each test sees every old name's note as a fresh process would."""
    monkeypatch.setattr(renamed, "_noted", set())


def test_no_key_of_any_config_ends_in_len_and_every_old_name_has_an_example():
    assert set(EXAMPLES) == set(RENAMED)
    for name in ("train", "evaluate", "predict", "score", "export"):
        cfg = OmegaConf.to_container(compose_config(config_name=name))
        stack = [("", cfg)]
        while stack:
            prefix, node = stack.pop()
            for key, value in node.items():
                assert not key.endswith("_len"), f"{name}: {prefix}{key}"
                if isinstance(value, dict):
                    stack.append((f"{prefix}{key}.", value))


@pytest.mark.parametrize("old", sorted(EXAMPLES))
def test_an_old_name_composes_as_its_new_one_with_a_note(old, capsys):
    value, config_name = EXAMPLES[old]
    new = RENAMED[old]
    wanted = compose_config([f"{new}={value}"], config_name=config_name)
    assert capsys.readouterr().err == ""
    cfg = compose_config([f"{old}={value}"], config_name=config_name)
    assert cfg == wanted
    assert OmegaConf.select(cfg, new) == value
    assert capsys.readouterr().err == (
        f"note: {old} is now {new}; the old name is accepted until version {REMOVED_IN}\n"
    )


def test_hydras_prefixes_and_sweeps_keep_their_form_and_each_name_is_noted_once(capsys):
    overrides = ["--multirun", "++task.max_len=3", "~task.min_len", "task.max_len=4,5", "seed=1"]
    assert renamed_overrides(overrides) == [
        "--multirun", "++task.max_source_symbols=3", "~task.min_source_symbols",
        "task.max_source_symbols=4,5", "seed=1",
    ]  # fmt: skip
    assert len(capsys.readouterr().err.splitlines()) == 2
    assert renamed_overrides(["task.max_len=6"]) == ["task.max_source_symbols=6"]
    assert capsys.readouterr().err == ""


def test_train_py_refuses_an_old_names_bad_value_by_the_new_name(tmp_path):
    result = run_script("train.py", "task.max_len=0", f"hydra.run.dir={tmp_path}/run", timeout=60)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"note: task.max_len is now task.max_source_symbols; the old name is accepted until "
        f"version {REMOVED_IN}",
        "error: task.max_source_symbols=0: must be an integer >= 1",
    ], result.stderr


def test_a_run_saved_under_the_old_names_reads_under_the_new_ones(tmp_path):
    saved = compose_config(["task=reverse_prefix"])
    task = OmegaConf.to_container(saved.task)
    for old in ("min_len", "max_len", "target_len", "max_source_len", "max_target_len"):
        task[old] = task.pop(RENAMED[f"task.{old}"].split(".")[1])
    (tmp_path / "config.yaml").write_text(
        OmegaConf.to_yaml({**OmegaConf.to_container(saved), "task": task})
    )
    for name in ("model.keras", "vocab.json"):
        (tmp_path / name).write_text("")
    (tmp_path / "metrics.json").write_text(json.dumps({"test": {}}))
    run_cfg = finished_run_config("run_dir", str(tmp_path))
    assert OmegaConf.to_container(run_cfg.task) == OmegaConf.to_container(saved.task)
    # A config that has the new name already keeps it; a plain dict reads the same way.
    both = {"task": {"max_len": 1, "max_source_symbols": 2}, "eval": {"min_len": 3}}
    assert upgraded(both) == {
        "task": {"max_len": 1, "max_source_symbols": 2},
        "eval": {"min_source_symbols": 3},
    }


def test_the_configuration_page_lists_every_renamed_key():
    page = (ROOT / "docs" / "configuration.md").read_text()
    for old, new in RENAMED.items():
        assert f"| `{old}` | `{new}` |" in page
    assert f"until version {REMOVED_IN}" in page
