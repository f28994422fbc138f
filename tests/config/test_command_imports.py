"""A command's work is imported with the garbage collector paused, and in a command's own
process what that import made is frozen out of later collections (seq2seq/cli/imports.py);
every entry point starts its process as a command's."""

import gc
import inspect
import sys
import tomllib

import pytest

from conftest import ROOT
from seq2seq.cli import commands, imports

#: A module that records, as it is imported, whether the collector was on.
PROBE = "import gc\nCOLLECTOR_ON = gc.isenabled()\nOBJECTS = [[i] for i in range(1000)]\n"


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """The name of a module not imported yet, on the path."""
    name = f"probe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_the_work_is_imported_with_the_collector_paused_and_nothing_frozen(probe, monkeypatch):
    monkeypatch.setattr(imports, "_freeze_imports", False)  # as in any process but a command's
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    module = imports.import_work(probe)
    assert module.COLLECTOR_ON is False
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # not a command's own process


def test_a_command_process_freezes_what_its_first_import_made(probe, monkeypatch):
    monkeypatch.setattr(imports, "_freeze_imports", True)
    gc.collect()  # the garbage of earlier tests is not frozen with the rest
    before = gc.get_freeze_count()  # tests/conftest.py froze its imports
    module = imports.import_work(probe)
    after = gc.get_freeze_count()
    assert after > before + len(module.OBJECTS)
    made_since = [[i] for i in range(100)]
    imports.import_work(probe)  # imported already: nothing new to freeze
    assert gc.get_freeze_count() == after and made_since


def test_a_collector_that_was_off_stays_off(probe):
    gc.disable()
    try:
        assert imports.import_work(probe).COLLECTOR_ON is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_every_entry_point_starts_its_process_as_a_commands():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for script, target in scripts.items():
        function = getattr(commands, target.split(":")[1])
        if script != "seq2seq-runs":  # reads run files, no TensorFlow
            assert "command_process()" in inspect.getsource(function), script
    for name in ("evaluate", "predict", "score", "export", "modes"):
        main_block = (ROOT / "seq2seq" / f"{name}.py").read_text().split("__main__")[-1]
        assert "command_process()" in main_block, name
    assert "commands import train" in (ROOT / "train.py").read_text()
