"""One way into every command: `--help` answered by each, a run directory checked before
TensorFlow loads, a lazy package top, and TensorFlow's start-up lines kept off the
terminal (seq2seq/cli/command.py, quiet.py; seq2seq/__init__.py)."""

import os
import subprocess
import sys
import threading

import pytest

from conftest import ROOT
from seq2seq.cli import quiet
from seq2seq.cli.commands import EVALUATE, EXPORT, PREDICT, SCORE
from seq2seq.config.schema_walk import keys

COMMANDS = {"evaluate": EVALUATE, "predict": PREDICT, "score": SCORE, "export": EXPORT}
#: What each needs beside run_dir to get as far as the run directory's check.
ARGUMENTS = {"evaluate": [], "predict": ["input=a"], "score": ["input_file=x.tsv"], "export": []}


def _python(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env=env,
    )  # fmt: skip


def _without_log_level():
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_answers_help_with_its_keys_and_no_tensorflow(name):
    code = (
        f"import sys\nfrom seq2seq.{name} import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as stop:\n    assert stop.code == 0\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow loaded'\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: seq2seq-{name} ")
    for key in keys(COMMANDS[name].schema):
        assert f"  {key}=" in result.stdout, key


def test_train_answers_help():
    result = _python("train.py", "--help")
    assert result.returncode == 0, result.stderr
    assert "experiment: " in result.stdout and "trainer:" in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_wrong_run_dir_is_refused_before_tensorflow_loads(name, tmp_path):
    code = (
        f"import sys\nfrom seq2seq.{name} import main\n"
        f"try:\n    main(['run_dir={tmp_path / 'nothing'}', *{ARGUMENTS[name]}])\n"
        "except SystemExit as stop:\n    assert stop.code == 2, stop.code\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow loaded'\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    assert "no finished run there" in result.stderr


def test_importing_the_package_loads_no_tensorflow_until_a_name_is_used():
    code = (
        "import sys, seq2seq\n"
        "assert 'tensorflow' not in sys.modules\n"
        "assert seq2seq.build_model and 'tensorflow' in sys.modules\n"
        "assert 'build_model' in dir(seq2seq)\n"
        "try:\n    seq2seq.nothing\nexcept AttributeError as error:\n    print(error)\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    assert "has no attribute 'nothing'" in result.stdout


@pytest.mark.slow
def test_keras_first_then_the_package_registers_the_model_classes():
    code = (
        "import keras, seq2seq\n"
        "for name in ('AttentionSeq2Seq', 'ExactMatch', 'SmoothedCrossEntropy'):\n"
        "    assert keras.saving.get_registered_object('seq2seq>' + name) is not None, name\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr


def _filtered(text: bytes) -> bytes:
    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    reader = threading.Thread(target=quiet._forward, args=(read_end, out_write))
    reader.start()
    # In two writes, the second starting mid-line: the reader joins a line across reads.
    middle = len(text) // 2
    os.write(write_end, text[:middle])
    os.write(write_end, text[middle:])
    os.close(write_end)
    reader.join(timeout=10)
    os.close(out_write)
    with os.fdopen(out_read, "rb") as out:
        return out.read()


def test_the_filter_drops_tensorflows_start_up_lines_and_passes_the_rest():
    noise = (
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1796609733.890794    7842 port.cc:153] oneDNN custom operations are on.\n"
        b"I0000 00:00:1796609733.891217    7842 cudart_stub.cc:31] Could not find cuda drivers\n"
        b"To enable the following instructions: AVX2 FMA, in other operations, rebuild\n"
        b"E0000 00:00:1796609736.667599    7842 cuda_platform.cc:52] failed call to cuInit: X\n"
        b"E0000 00:00:1796609244.060957    4854 util.cc:131] oneDNN supports DT_BOOL only\n"
    )
    kept = (
        b"error: run_dir='x': no finished run there\n"
        b"E0000 00:00:1796609736.667599    7842 op_kernel.cc:1] a real failure\n"
        b"Traceback (most recent call last):\n"
    )
    text = noise + kept + b"no newline at the end"
    assert _filtered(text) == kept + b"no newline at the end"


@pytest.mark.slow
def test_a_command_prints_none_of_tensorflows_start_up_lines_unless_asked():
    quiet_run = _python("-m", "seq2seq.modes", env=_without_log_level())
    assert quiet_run.returncode == 0, quiet_run.stderr
    assert quiet_run.stderr == ""
    # TF_CPP_MIN_LOG_LEVEL set: the user asked for TensorFlow's own lines.
    loud_run = _python(
        "-m", "seq2seq.modes", env={**_without_log_level(), "TF_CPP_MIN_LOG_LEVEL": "0"}
    )
    assert loud_run.returncode == 0
    assert "oneDNN custom operations are on" in loud_run.stderr  # what the filter drops
    assert quiet_run.stdout == loud_run.stdout
