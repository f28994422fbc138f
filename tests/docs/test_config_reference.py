"""docs/configuration.md's reference is the one `tools/config_reference.py` writes from the
schemas today, and it names every key of every command's schema."""

import dataclasses
import importlib.util

import pytest
from documented import ROOT

from seq2seq.config.command_schema import (
    EvaluateConfig,
    ExportConfig,
    PredictConfig,
    ScoreConfig,
)
from seq2seq.config.constraints import HELP
from seq2seq.config.schema import TrainConfig
from seq2seq.config.schema_walk import keys

SCHEMAS = {
    "train": TrainConfig,
    "evaluate": EvaluateConfig,
    "predict": PredictConfig,
    "score": ScoreConfig,
    "export": ExportConfig,
}


@pytest.fixture(scope="module")
def generator():
    """tools/config_reference.py, imported as a module (tools/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        "config_reference", ROOT / "tools" / "config_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def leaf_fields(schema: type, prefix: str = ""):
    """(dotted key, field) of every leaf field of a schema, nested groups included."""
    for field in dataclasses.fields(schema):
        if dataclasses.is_dataclass(field.type):
            yield from leaf_fields(field.type, f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}", field


def test_the_configuration_page_is_current(generator):
    page = generator.PAGE.read_text()
    assert generator.updated(page) == page, (
        "docs/configuration.md's reference differs from the schemas: "
        "run python tools/config_reference.py"
    )


def test_every_schema_field_has_help_and_a_row(generator):
    reference = generator.reference()
    for command, schema in SCHEMAS.items():
        for key, field in leaf_fields(schema):
            assert field.metadata.get(HELP), f"{command} {key}: the field has no help= text"
            shown = f"| `{key}` |" in reference
            # predict's decoding.* keys are evaluate's, shown once.
            assert shown, f"{command} {key}: not in the generated reference"
        assert sorted(keys(schema)) == sorted(key for key, _ in leaf_fields(schema))


def test_null_defaults_say_what_they_become(generator):
    reference = generator.reference()
    row = next(line for line in reference.splitlines() if line.startswith("| `trainer.epochs` |"))
    assert "null: `3` for generated tasks, `100` for files of pairs" in row, row


def test_a_stale_page_is_named_with_the_command_that_fixes_it(generator, tmp_path, capsys):
    page = tmp_path / "configuration.md"
    page.write_text(f"# Configuration\n\n{generator.BEGIN}\nold\n{generator.END}\n")
    assert generator.main(["--check", "--page", str(page)]) == 1
    assert "run python tools/config_reference.py" in capsys.readouterr().out
    assert generator.main(["--page", str(page)]) == 0
    assert generator.main(["--check", "--page", str(page)]) == 0
