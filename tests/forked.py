"""`run` and `Popen` as `subprocess` has them, for the framework's command lines, started by
forking a process that has TensorFlow imported already (tests/helpers/forkserver.py): each
start saves the 4.5-5 s of one core the imports take, over a hundred times a suite.

The process is a real one; only the interpreter's start and its imports are skipped. A
test about what a command imports or prints while TensorFlow loads uses `subprocess`, as
does every command line this cannot start as it is written (`python SCRIPT ...` and
`python -m MODULE ...` only), or with an environment that TensorFlow or Keras read when
they load (`IMPORT_TIME_ENVIRONMENT`). `FRESH_PROCESSES=1 make test` starts every command in
a fresh interpreter, to tell a failure of the forked start from one of the command.
"""

import atexit
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Variables read while TensorFlow, Keras or the interpreter start: a command whose
#: environment differs from the server's in one of them starts in a fresh interpreter.
IMPORT_TIME_ENVIRONMENT = ("TF_", "KERAS", "CUDA", "XLA", "PYTHON", "OMP_", "MKL", "LD_")
#: Read by the command itself when it runs (tf.distribute's cluster).
RUN_TIME_ENVIRONMENT = ("TF_CONFIG",)

#: The environment the server imports under: this process's as the tests start, before
#: any test changes it (a server started later would import under that test's).
SERVER_ENVIRONMENT = dict(os.environ)

_server = {}
_lock = threading.Lock()


def _address() -> str:
    """The socket of this process's server, started on first use (~6 s of one core)."""
    with _lock:
        if "address" not in _server:
            folder = tempfile.mkdtemp(prefix="forkserver-")
            address = os.path.join(folder, "socket")
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "helpers" / "forkserver.py"), address],
                env=SERVER_ENVIRONMENT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            if process.stdout.readline() != b"ready\n":
                raise RuntimeError(f"the fork server did not start (status {process.wait()})")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            atexit.register(process.kill)  # runs first: atexit runs last-registered first
            _server.update(address=address)
        return _server["address"]


def forkable(args, env) -> bool:
    """Whether `args` is `python SCRIPT ...` or `python -m MODULE ...` of this interpreter,
    with an environment the server's imports agree with."""
    if os.environ.get("FRESH_PROCESSES") == "1":
        return False
    args = [str(arg) for arg in args] if isinstance(args, (list, tuple)) else []
    if len(args) < 2 or args[0] != sys.executable or args[1].startswith("-") and args[1] != "-m":
        return False
    env, server = os.environ if env is None else env, SERVER_ENVIRONMENT
    differing = {key for key in set(env) ^ set(server) if key not in RUN_TIME_ENVIRONMENT}
    differing |= {key for key in env if key in server and env[key] != server[key]}
    return not any(key.startswith(IMPORT_TIME_ENVIRONMENT) for key in differing)


class Popen(subprocess.Popen):
    """`subprocess.Popen` whose child the fork server starts when `forkable` says it can.

    Overrides the three methods of the pinned Python 3.11's POSIX Popen that start a child
    and wait for it: the child is the server's, so its status comes over the socket."""

    def __init__(self, args, **kwargs):
        self._connection = None
        self._forked = forkable(args, kwargs.get("env"))
        super().__init__(args, **kwargs)

    def _execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env,
                       startupinfo, creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite,
                       errread, errwrite, *rest):  # fmt: skip
        if not self._forked:
            return super()._execute_child(
                args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
                creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
                *rest,
            )  # fmt: skip
        if preexec_fn or pass_fds or shell or executable:
            raise ValueError("forked.Popen starts `python SCRIPT|-m MODULE ...` only")
        request = {
            "argv": [str(arg) for arg in args[1:]],
            "cwd": os.fspath(cwd) if cwd is not None else os.getcwd(),
            "env": dict(os.environ if env is None else env),
        }
        fds = [
            fd if fd != -1 else default
            for fd, default in ((p2cread, 0), (c2pwrite, 1), (errwrite, 2))
        ]
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(_address())
        socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], fds)
        self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
        self._connection, self._received = connection, b""
        self.pid = int(self._line(None))
        self._child_created = True

    def _line(self, timeout):
        """The server's next line, waiting up to `timeout` s (None: no limit); None if it
        has not come."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._received:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._connection], [], [], left)[0]:
                return None
            chunk = self._connection.recv(64)
            if not chunk:
                raise RuntimeError(f"the fork server dropped {self.args}")
            self._received += chunk
        line, self._received = self._received.split(b"\n", 1)
        return line

    def _status(self, timeout):
        """The child's status once it has ended, waiting up to `timeout` s (None: no limit);
        None while it runs."""
        line = self._line(timeout)
        if line is not None:
            self.returncode = int(line)
            self._connection.close()
        return self.returncode

    def _internal_poll(self, _deadstate=None, *args, **kwargs):
        if not self._forked:
            return super()._internal_poll(_deadstate, *args, **kwargs)
        if self.returncode is None:
            self._status(0)
        return self.returncode

    def _wait(self, timeout):
        if not self._forked:
            return super()._wait(timeout)
        if self.returncode is None and self._status(timeout) is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode


def run(*popenargs, input=None, capture_output=False, timeout=None, check=False, **kwargs):
    """`subprocess.run`, started through `Popen` above (subprocess.run names its own Popen,
    so it cannot be handed this one)."""
    if capture_output:
        if "stdout" in kwargs or "stderr" in kwargs:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        except BaseException:
            process.kill()
            raise
        retcode = process.poll()
        if check and retcode:
            raise subprocess.CalledProcessError(retcode, process.args, stdout, stderr)
    return subprocess.CompletedProcess(process.args, retcode, stdout, stderr)
