"""How a command's process starts and loads its work: TensorFlow's start-up lines filtered
(`quiet.py`), and the work imported with Python's cyclic garbage collector paused, then
what the imports made frozen out of its later collections.

Importing TensorFlow, Keras and the framework's stages makes about 350,000 objects that
live as long as the process. The collector scans them all again in each full collection:
on a 2-core Intel Xeon (Python 3.11) 0.5 s of the imports' 2.8 s of one core, and 0.25 s
each time a run's tracing triggers one later. Paused for the imports and frozen after
(`gc.freeze`), they are never scanned. A frozen object is never freed by the collector,
so only a command's own process freezes (its entry point calls `command_process`); the
same calls made inside another program (`predict.main([...])`) only pause the collector.
"""

import contextlib
import gc
import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

from seq2seq.cli.quiet import filter_tensorflow_noise

#: Whether this process is a command's own (`command_process`): its imports are frozen.
_freeze_imports = False


def command_process() -> None:
    """Starts a command's own process: the first thing its entry point does (the console
    scripts, `python -m seq2seq.*`, `train.py`), never an import of the package."""
    global _freeze_imports
    filter_tensorflow_noise()
    _freeze_imports = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector inside, if it was on; it is on again after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def import_work(name: str) -> ModuleType:
    """Imports the module `name` (and TensorFlow with it) with the collector paused; in a
    command's own process, what the first import made is then frozen.

    Args:
        name: a module's dotted name, e.g. `seq2seq.serving.predict_run`.

    Returns:
        The module (from `sys.modules` when imported already).

    Raises:
        ImportError: as `importlib.import_module` does.
    """
    first = name not in sys.modules
    with collector_paused():
        module = importlib.import_module(name)
        if first and _freeze_imports:
            gc.freeze()
    return module
