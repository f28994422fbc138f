"""What `python train.py` says when its run has finished: where the run is, its figure,
and the commands that use it, ready to copy. `metrics.json` holds every figure for
programs; this is for the person who started the run.
"""

import json
import math
import re
import shlex
from pathlib import Path

from seq2seq.base.files import display_path
from seq2seq.base.names import (
    METRICS_FILE,
    RUN_RECORD,
    SAVED_MODEL_DIR,
    SAVED_MODEL_EXPORT,
)
from seq2seq.data.held_out import is_plain

#: The command-line arguments the suggested training command replaces.
REPLACED = ("hydra.run.dir", "trainer.resume", "trainer.init_from")


def commands(program: str) -> dict:
    """How to call each command, the way the training command was called.

    Args:
        program: `sys.argv[0]` of the training command.

    Returns:
        `{"train": ..., "evaluate": ..., "predict": ...}`: the console scripts when it was
        `seq2seq-train`, `python ...` and `python -m seq2seq....` otherwise.
    """
    if Path(program).name == "seq2seq-train":
        return {name: f"seq2seq-{name}" for name in ("train", "evaluate", "predict")}
    return {
        "train": f"python {shlex.quote(program)}",
        "evaluate": "python -m seq2seq.evaluate",
        "predict": "python -m seq2seq.predict",
    }


def _input_argument(text: str) -> str:
    """`input=...` for one source: quoted for Hydra, so that commas, brackets and spaces
    stay text, and for the shell."""
    if is_plain(text):
        return f"input=\"'{text}'\""
    # Inside Hydra's quotes a backslash is itself but before a quote, where it escapes.
    escaped = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    escaped = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped)
    return shlex.quote(f"input='{escaped}'")


def _figure(name: str, value) -> str | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return f"{name} {float(value):.4f}"


def _kept(record: dict, metrics: dict, watched: str) -> str:
    """The kept epoch and the watched metric, validation's and test's, of the final model."""
    split, metric = watched.split("/", 1)
    figures = [
        _figure(f"{name}/{metric}", metrics.get(name, {}).get(metric))
        for name in (split, "test" if split != "test" else None)
        if name is not None
    ]
    shown = ", ".join(f for f in figures if f is not None) or f"{watched}: not measured"
    epoch, trained = record.get("final_epoch"), record.get("epochs_trained")
    if epoch is None:
        return shown
    averaged = record.get("averaged_epochs")
    kept = f"epoch {epoch} of {trained}" if trained else f"epoch {epoch}"
    if averaged:
        kept = f"epochs {averaged[0]}-{averaged[-1]} averaged, ending at {kept}"
    return f"{kept}: {shown}"


def finished_block(
    run_dir: Path,
    metrics: dict,
    optimized_metric: str,
    program: str,
    arguments: list,
    example: str | None,
) -> str:
    """The lines that end a finished run's output.

    Args:
        run_dir: the run directory.
        metrics: the final metrics (`metrics.json`'s).
        optimized_metric: `val/NAME` shown when early stopping watched nothing.
        program: `sys.argv[0]` of the training command.
        arguments: the command's other arguments, as the shell gave them.
        example: one source as `predict` reads it (None: `input=` is left to fill in).

    Returns:
        The block, lines joined by newlines: the run, its kept epoch and figure, and
        the commands to evaluate, predict, serve and fine-tune it.
    """
    try:
        record = json.loads((run_dir / RUN_RECORD).read_text())
    except (OSError, ValueError):
        record = {}
    watched = record.get("monitor") or optimized_metric
    shown = display_path(run_dir)
    run = shlex.quote(shown)
    called = commands(program)
    kept = [a for a in arguments if a.lstrip("+~").split("=", 1)[0] not in REPLACED]
    train = " ".join([called["train"], *map(shlex.quote, kept), f"trainer.init_from={run}"])
    source = _input_argument(example) if example is not None else "input=SOURCE"
    serving = shlex.quote(str(run_dir.resolve() / SAVED_MODEL_DIR))
    return "\n".join(
        [
            f"Finished: {shown}",
            f"  kept:      {_kept(record, metrics, watched)} (every figure: {METRICS_FILE})",
            f"  evaluate:  {called['evaluate']} run_dir={run}",
            f"  predict:   {called['predict']} run_dir={run} {source}",
            f"  serve:     {shown}/{SAVED_MODEL_EXPORT}, a SavedModel: docker run -p 8501:8501 "
            f"-v {serving}:/models/seq2seq -e MODEL_NAME=seq2seq tensorflow/serving",
            f"  fine-tune: {train}",
        ]
    )
