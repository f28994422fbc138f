"""make test starts the heaviest test files first: tests/durations.json names files that
exist, tests/conftest.py orders whole files by it, and the Makefile keeps xdist from
reordering them by their count of tests."""

import json
import types
from pathlib import Path

import conftest
from conftest import ROOT


def test_the_table_names_test_files_that_exist():
    table = json.loads((ROOT / "tests" / "durations.json").read_text())
    missing = [name for name in table if not (ROOT / name).is_file()]
    assert not missing, f"run tools/test_durations.py again; gone: {missing}"
    assert all(seconds >= 0 for seconds in table.values())


def test_files_are_ordered_heaviest_first_and_keep_their_tests_in_order(monkeypatch):
    monkeypatch.setattr(
        conftest, "DURATIONS", {"tests/a.py": 1.0, "tests/b.py": 30.0, "tests/c.py": 5.0}
    )
    names = ["a.py::1", "a.py::2", "new.py::1", "b.py::1", "b.py::2", "c.py::1", "b.py::3"]
    items = [types.SimpleNamespace(location=(f"tests/{n.split('::')[0]}", 0, n)) for n in names]
    conftest.pytest_collection_modifyitems(items)
    assert [item.location[2] for item in items] == [
        "b.py::1", "b.py::2", "b.py::3", "c.py::1", "a.py::1", "a.py::2", "new.py::1",
    ]  # fmt: skip


def test_make_test_keeps_the_order():
    makefile = (Path(ROOT) / "Makefile").read_text()
    (line,) = [line for line in makefile.splitlines() if line.startswith("PYTEST_ARGS ?=")]
    assert "--dist loadfile" in line and "--no-loadscope-reorder" in line
