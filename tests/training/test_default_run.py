"""The default `python train.py` solves its task.

In a file of its own whose name sorts early, so that pytest-xdist starts this longest
test (about 1.5 minutes) first and the other files fill the second worker meanwhile.
"""

import json

import pytest

from conftest import run_script


@pytest.mark.slow
def test_default_run_solves_reversal(tmp_path, data_dir):
    """`python train.py` with no overrides reaches >= 99% test exact-match on this CPU."""
    result = run_script("train.py", f"data_dir={data_dir}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["exact_match"] >= 0.99, metrics
