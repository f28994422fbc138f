"""Text files as people have them: a byte order mark, Windows line endings and Unicode's
other line separators simply work; binary and non-UTF-8 files are refused naming the
file and the first bad line, before TensorFlow loads."""

import os

import pytest

from conftest import TINY, error_lines, imported_modules, run_script
from seq2seq import UserError
from seq2seq.text import text_files


def pairs(path, on_bad_line="error"):
    return list(text_files.read_pairs(text_files.PairFile(path, ("space", "space"), on_bad_line)))


def test_a_byte_order_mark_does_not_stick_to_the_first_symbol(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes(b"\xef\xbb\xbfa b\tc\nd\te\n")
    assert pairs(path) == [(1, "a b", "c"), (2, "d", "e")]


def test_windows_line_endings_end_lines(tmp_path):
    path = tmp_path / "crlf.tsv"
    path.write_bytes(b"a b\tc\r\nd\te\r\n")
    assert pairs(path) == [(1, "a b", "c"), (2, "d", "e")]


@pytest.mark.parametrize(
    "key, hint",
    [
        ("task.path", "or set task.on_bad_line=skip"),
        ("task.val_path", "or set task.on_bad_line=skip"),
        # evaluate and score accept no on_bad_line: the hint says what works instead.
        ("eval.file", "fix or delete that line: every line of eval.file is read, none is skipped"),
        ("input_file", "fix or delete that line: every line of input_file is read, none is skipped"),
    ],
)  # fmt: skip
def test_a_bad_line_names_what_the_command_reading_it_accepts(tmp_path, key, hint):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(UserError) as refused:
        list(text_files.read_pairs(text_files.PairFile(path, ("space", "space"), "error", key)))
    assert str(refused.value) == (
        f"{path}:2: the line has no tab; each line must be source<TAB>target ({hint})"
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\u2029", "\x0c"])
def test_other_line_separators_stay_inside_their_line(tmp_path, separator):
    path = tmp_path / "separators.tsv"
    path.write_text(f"a{separator}b\tc\nd\te\nno tab here\n", encoding="utf-8")
    assert pairs(path, "skip") == [(1, f"a{separator}b", "c"), (2, "d", "e")]
    with pytest.raises(UserError, match=r"separators.tsv:3: the line has no tab"):
        pairs(path)


def test_a_binary_file_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"a\tb\n\x00\x01\x02\tc\n")
    with pytest.raises(UserError) as error:
        pairs(path)
    assert (
        str(error.value) == f"{path}:2: a NUL byte; this looks like a binary file, not UTF-8 text"
    )


def test_a_file_that_is_not_utf8_is_refused_naming_line_and_byte(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("a\tb\ncaf\u00e9\tc\n".encode("latin-1"))
    with pytest.raises(UserError) as error:
        pairs(path)
    assert str(error.value) == (
        f"{path}:2: not UTF-8 text (byte 0xe9 at column 4); save the file as UTF-8"
    )


def test_train_py_refuses_such_a_file_before_tensorflow_loads(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("".join(f"w{i}\u00e9\tx\n" for i in range(50)).encode("latin-1"))
    result = run_script(
        "train.py",
        "task=tsv",
        f"task.path={path}",
        f"hydra.run.dir={tmp_path}/run",
        import_times=True,
    )
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: {path}:1: not UTF-8 text (byte 0xe9 at column 3); save the file as UTF-8"
    ]
    assert "tensorflow" not in imported_modules(result.stderr)


def test_a_file_too_small_for_its_splits_is_refused_before_tensorflow_loads(tmp_path):
    path = tmp_path / "small.tsv"
    path.write_text("".join(f"s{i}\tt{i}\n" for i in range(10)))
    result = run_script(
        "train.py", "task=tsv", f"task.path={path}", "task.val_size=5", "task.test_size=5",
        f"hydra.run.dir={tmp_path}/run", *TINY[-1:], import_times=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: task.val_size=5: validation and test would take 10 of the 10 distinct "
        f"sources of {path}, leaving none to train on; use smaller splits"
    ]
    assert "tensorflow" not in imported_modules(result.stderr)


def file_of_kind(tmp_path, kind):
    """A path that is not a file of pairs to train on: empty, a directory, a FIFO."""
    path = tmp_path / f"{kind}.tsv"
    if kind == "empty":
        path.write_text("")
    elif kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)  # opening it would wait for a writer forever
    return path


@pytest.mark.parametrize(
    "kind,problem",
    [
        ("empty", "the file is empty; allowed: source<TAB>target lines"),
        ("directory", "is a directory; allowed: a file"),
        ("fifo", "is not a regular file (a FIFO); allowed: a file"),
    ],
)
@pytest.mark.parametrize("key", ["task.path", "task.val_path"])
def test_train_py_says_what_a_path_is_that_holds_no_pairs(tmp_path, kind, problem, key):
    train = tmp_path / "pairs.tsv"
    train.write_text("".join(f"s{i}\tt{i}\n" for i in range(20)))
    path = file_of_kind(tmp_path, kind)
    paths = [f"task.path={path}"] if key == "task.path" else [f"task.path={train}", f"{key}={path}"]
    result = run_script(
        "train.py", "task=tsv", *paths, "task.val_size=2", "task.test_size=2",
        f"hydra.run.dir={tmp_path}/run", import_times=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [f"error: {key}={str(path)!r}: {problem}"]
    assert "tensorflow" not in imported_modules(result.stderr)


HEADED = "Source\tTarget\n" + "".join(f"s{i}\tt{i}\n" for i in range(20))


def test_a_header_line_is_refused_naming_both_ways_out(tmp_path):
    path = tmp_path / "headed.tsv"
    path.write_text(HEADED)
    with pytest.raises(UserError) as error:
        pairs(path)
    assert str(error.value) == (
        f"{path}:1: the first line ('Source'<TAB>'Target') looks like column names; set "
        "task.header=true to skip it, or task.header=false to train on it as a pair"
    )
    skipped = list(
        text_files.read_pairs(text_files.PairFile(path, ("space", "space"), "error", header=True))
    )
    kept = list(
        text_files.read_pairs(text_files.PairFile(path, ("space", "space"), "error", header=False))
    )
    assert skipped[0] == (2, "s0", "t0") and len(skipped) == 20
    assert kept[0] == (1, "Source", "Target") and len(kept) == 21
    # A first line of words that are not column names is a pair like any other.
    path.write_text("cat\tchat\n" + HEADED)
    assert pairs(path)[0] == (1, "cat", "chat")


def test_train_py_refuses_a_header_line_before_tensorflow_loads(tmp_path):
    path = tmp_path / "headed.tsv"
    path.write_text(HEADED)
    result = run_script(
        "train.py", "task=tsv", f"task.path={path}", "task.val_size=2", "task.test_size=2",
        f"hydra.run.dir={tmp_path}/run", import_times=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = error_lines(result.stderr)
    assert line.startswith(f"error: {path}:1: the first line ('Source'<TAB>'Target') looks like")
    assert "tensorflow" not in imported_modules(result.stderr)
