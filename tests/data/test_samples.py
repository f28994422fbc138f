"""The sample files of pairs: each script in tools/ writes the shipped file again, byte for
byte, and asking for more distinct pairs than a script can make ends in one line."""

import sys

import pytest

from conftest import ROOT, run_script

sys.path.insert(0, str(ROOT / "tools"))
from distinct_pairs import write_distinct_pairs  # noqa: E402 - tools/ is no package


@pytest.mark.parametrize(
    "script,sample", [("make_dates.py", "dates.tsv"), ("make_tense_pairs.py", "tense_pairs.tsv")]
)
def test_each_script_writes_its_shipped_sample(script, sample, tmp_path):
    result = run_script(f"tools/{script}", "--out", str(tmp_path / sample))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / sample).read_bytes() == (ROOT / "data" / sample).read_bytes()


def test_more_pairs_than_the_sources_allow_are_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["make", "--count", "5", "--out", str(tmp_path / "x.tsv")])
    with pytest.raises(SystemExit) as stop:
        write_distinct_pairs(lambda rng: (rng.choice("abc"), "t"), "three sources", "unused")
    assert str(stop.value).startswith("error: --count=5: only 3 distinct sources found")
    assert not (tmp_path / "x.tsv").exists()
