"""A Python process with TensorFlow, Keras and the framework already imported, that starts
each command line the tests send it as a process of its own by forking (tests/forked.py).

    python tests/helpers/forkserver.py SOCKET

A command of the framework spends 4.5-5 s of one core importing TensorFlow and Keras before
it does anything; the suite starts over a hundred. A forked process is a real one (its own
pid, file descriptors, signals, exit status, environment and working directory), started
as the interpreter would run `python SCRIPT ARGS` or `python -m MODULE ARGS`, without the
imports. What the imports themselves do (which modules a refusal loads, TensorFlow's
start-up lines) is tested in fresh interpreters, never here. multiprocessing's forkserver
starts Python functions, not command lines with their own standard streams, hence this.

One request a connection: a JSON line `{"argv": [...], "cwd": ..., "env": {...}}` sent
with three file descriptors (the child's stdin, stdout, stderr). The server forks a waiter,
which forks the child, answers the child's pid, waits for it and answers its exit status
as `subprocess` reports one (negative: the signal that ended it). The server itself starts
no thread: a process forked from a threaded one can inherit a lock held forever.
"""

import atexit
import gc
import json
import logging
import os
import runpy
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# What the commands import, once: everything after this line is what a child skips.
import keras  # noqa: E402, F401
import tensorflow  # noqa: E402, F401
from tensorflow.python.platform import tf_logging  # noqa: E402

# Not the modules that run as `-m`: runpy warns when one is imported already.
import seq2seq.cli.commands  # noqa: E402, F401
import seq2seq.serving  # noqa: E402, F401
import seq2seq.training.run  # noqa: E402, F401

# TensorFlow's logger is made on first use, with a handler of its own only if the root
# logger has none yet: in a command that is after Hydra's logging, here before it.
logging.getLogger("tensorflow").handlers.clear()
tf_logging._logger = None

# What the imports made, frozen out of the garbage collector's scans: a command's own
# process freezes what its imports made (seq2seq/cli/imports.py), and a forked command's
# imports are these (its own `import_work` finds its modules imported already).
gc.freeze()


def exit_status(code) -> int:
    """The status Python exits with for `SystemExit(code)` (a text is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_command(argv: list) -> int:
    """Runs `python ARGV` in this process as the interpreter would, from `__main__`.

    Returns:
        The exit status.
    """
    if argv[0] == "-m":
        sys.modules.pop(argv[1], None)  # run as `__main__`, never as the module imported
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = os.getcwd()
        runner = lambda: runpy.run_module(argv[1], run_name="__main__", alter_sys=True)  # noqa: E731
    else:
        sys.argv = list(argv)
        sys.path[0] = str(Path(argv[0]).resolve().parent)
        runner = lambda: runpy.run_path(argv[0], run_name="__main__")  # noqa: E731
    try:
        runner()
    except SystemExit as exit_:
        return exit_status(exit_.code)
    except KeyboardInterrupt:
        # As the interpreter does: the traceback, then death by SIGINT.
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:  # noqa: BLE001 - any other, as the interpreter reports it
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def child(request: dict, fds: list) -> None:
    """The forked command: its streams, directory, environment and signals, then the command
    and the interpreter's own way out (non-daemon threads joined, atexit functions run)."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    status = run_command(request["argv"])
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status & 0xFF)


def waiter(connection: socket.socket, request: dict, fds: list) -> None:
    """Forks the command, answers its pid, waits for it and answers its status."""
    pid = os.fork()
    if pid == 0:
        connection.close()
        child(request, fds)
    for fd in fds:
        os.close(fd)
    connection.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    connection.close()
    os._exit(0)


def serve(path: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    server.settimeout(1)
    parent = os.getppid()
    print("ready", flush=True)
    while os.getppid() == parent:  # the test process that started it is alive
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        connection.settimeout(None)
        message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        while not message.endswith(b"\n"):
            message += connection.recv(1 << 20)
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            server.close()
            waiter(connection, json.loads(message), fds)
        connection.close()
        for fd in fds:
            os.close(fd)
        while True:  # the waiters that have finished
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


if __name__ == "__main__":
    serve(sys.argv[1])
