"""tests/forked.py starts a command line as a fresh interpreter would, without the imports."""

import json
import signal
import subprocess
import sys

import forked
import pytest

#: `FRESH_PROCESSES=1` turns forking off: the tests that need a forked command skip.
needs_forking = pytest.mark.skipif(
    forked.os.environ.get("FRESH_PROCESSES") == "1", reason="FRESH_PROCESSES=1: nothing is forked"
)

REPORT = """
import json, os, sys
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "x": os.environ.get("X"),
                  "tensorflow": "tensorflow" in sys.modules, "path0": sys.path[0]}))
print("to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("STATUS", "0")))
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "report.py"
    path.write_text(REPORT)
    return path


@needs_forking
def test_a_forked_command_gets_its_arguments_directory_environment_and_status(script, tmp_path):
    env = {**forked.os.environ, "X": "y", "STATUS": "3"}
    result = forked.run([sys.executable, str(script), "a", "b c"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=60)  # fmt: skip
    report = json.loads(result.stdout)
    assert report == {"argv": [str(script), "a", "b c"], "cwd": str(tmp_path), "x": "y",
                      "tensorflow": True, "path0": str(tmp_path)}  # fmt: skip
    assert result.returncode == 3 and result.stderr == "to stderr\n"


def test_a_fresh_interpreter_where_the_environment_changes_what_loads(script, tmp_path):
    env = {**forked.os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"}
    assert not forked.forkable([sys.executable, str(script)], env)
    result = forked.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert json.loads(result.stdout)["tensorflow"] is False
    assert not forked.forkable([sys.executable, "-c", "pass"], None)


def test_a_module_runs_as_main(tmp_path):
    (tmp_path / "mod.py").write_text("import sys\nprint(__name__, sys.argv[1:])\n")
    result = forked.run([sys.executable, "-m", "mod", "x"], cwd=tmp_path, capture_output=True,
                        text=True, timeout=60)  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "__main__ ['x']\n", "")


@pytest.mark.parametrize(
    "code, status, stderr",
    [
        ("raise SystemExit('stopped')", 1, "stopped\n"),
        ("raise ValueError('bad')", 1, "ValueError: bad\n"),
        ("raise KeyboardInterrupt", -signal.SIGINT, "KeyboardInterrupt\n"),
    ],
)
def test_an_exception_ends_the_process_as_the_interpreter_would(code, status, stderr, tmp_path):
    path = tmp_path / "fails.py"
    path.write_text(code + "\n")
    result = forked.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == status and result.stderr.endswith(stderr), result.stderr


def test_a_signal_ends_it_and_poll_and_wait_say_so(tmp_path):
    path = tmp_path / "sleeps.py"
    path.write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    process = forked.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "started\n" and process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == -signal.SIGTERM
    process.stdout.close()


def test_a_variable_a_test_sets_is_gone_for_the_next():
    # As importing tf2onnx.convert sets TF_CPP_MIN_LOG_LEVEL (conftest's _environment_kept).
    forked.os.environ["TF_LEAKED_BY_A_TEST"] = "1"


@needs_forking
def test_so_the_next_tests_commands_are_still_forked():
    assert "TF_LEAKED_BY_A_TEST" not in forked.os.environ
    assert forked.forkable([sys.executable, "train.py"], None)
