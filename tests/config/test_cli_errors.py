"""`python train.py` refuses bad input at once: one line, non-zero exit, no traceback."""

import subprocess
import sys

import pytest

from conftest import ROOT, error_lines, imported_modules, run_script


@pytest.mark.parametrize(
    "override,expected",
    [
        ("model.units=0", "error: model.units=0: must be an integer >= 1"),
        ("task.vocab_size=abc", "error: task.vocab_size='abc': expected an integer"),
        ("task.foo=1", "error: task.foo: no such key"),
        ("task.min_len=11", "error: task.max_len=10: must be >= task.min_len (11)"),
        (
            "model=nope",
            "error: model='nope': no such option; allowed: attention, lstm, repeat_vector",
        ),
    ],
)
def test_bad_config_fails_fast_with_one_line(override, expected, tmp_path):
    result = run_script(
        "train.py", override, f"hydra.run.dir={tmp_path}/run", timeout=60, import_times=True
    )
    lines = error_lines(result.stderr)
    assert result.returncode == 2
    assert lines == [lines[0]] and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr
    # The config is checked before TensorFlow is imported (which alone takes seconds).
    assert "seq2seq_config" in imported_modules(result.stderr)
    assert not {"tensorflow", "keras"} & imported_modules(result.stderr)


def test_config_package_does_not_import_tensorflow():
    code = (
        "import sys, seq2seq_config\n"
        "seq2seq_config.validate(seq2seq_config.compose_config())\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
