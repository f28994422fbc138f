"""Text files as people have them: a byte order mark, Windows line endings and Unicode's
other line separators simply work; binary and non-UTF-8 files are refused naming the
file and the first bad line, before TensorFlow loads."""

import pytest

from conftest import TINY, error_lines, imported_modules, run_script
from seq2seq_config import UserError, text_files


def pairs(path, on_bad_line="error"):
    return list(text_files.read_pairs(path, ("space", "space"), on_bad_line))


def test_a_byte_order_mark_does_not_stick_to_the_first_symbol(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes(b"\xef\xbb\xbfa b\tc\nd\te\n")
    assert pairs(path) == [(1, "a b", "c"), (2, "d", "e")]


def test_windows_line_endings_end_lines(tmp_path):
    path = tmp_path / "crlf.tsv"
    path.write_bytes(b"a b\tc\r\nd\te\r\n")
    assert pairs(path) == [(1, "a b", "c"), (2, "d", "e")]


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
    assert str(error.value) == f"{path}:2: a NUL byte; this looks like a binary file, not UTF-8 text"


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
        "train.py", "task=tsv", f"task.path={path}", f"hydra.run.dir={tmp_path}/run", import_times=True
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
