"""`trainer.precision` resolved for one run: kept from the run's start on resume, measured
where the machine offers a choice (`hardware.measures`), from a cache of earlier
measurements, or by `hardware.choose_precision`'s rule.

The measurement trains throwaway models: the run's model built afresh under each
precision, compiled as the run compiles it (one step per call), trained a few steps on the
run's own first batches (`hardware.step_seconds`), then dropped; the run's model, optimizer
and data order are untouched, and the seeds are set again after it (`reseeds`), so that a
run that measured and one that read the cache start from the same weights. The decision is
cached under `data_dir/precision/KEY.json`, KEY a hash of what sets a step's speed (the model's
options and vocabulary sizes, the batch size, the CPU's model and count, TensorFlow's
version), and recorded in the run directory (`PRECISION_RECORD`) when the run starts: a
resumed run trains in the precision its start chose, as exact resume needs.
"""

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import keras
import tensorflow as tf
from omegaconf import OmegaConf

from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import PRECISION_RECORD
from seq2seq.data import pipeline
from seq2seq.machine import hardware
from seq2seq.model.families import build_model
from seq2seq.model.precision import dtype_policy
from seq2seq.training import distribute
from seq2seq.training.compile import compile_model, precision_on_this_machine

log = logging.getLogger(__name__)

#: The folder of `data_dir` that holds the cached decisions.
CACHE_DIR = "precision"
#: Untimed steps per precision: the first traces the graph, the second retraces it for
#: batches of another shape (grouped by length), after which Keras' function is general.
WARMUP_STEPS = 2
#: Timed steps per precision: a step of a small model takes 10-20 ms, so timing costs
#: little beside the two traces (1.3-1.7 s each). On a shared 2-core AMD EPYC, the ratio
#: of medians of 5 moved from 0.85x to 1.10x over 4 repeats (number_words' model); 10 it is.
TIMED_STEPS = 10
#: What run.json's `precision_measured` gives of a measurement, besides its cache.
MEASUREMENT = ("seconds_per_step", "timed_steps", "measure_seconds")


def cache_key(cfg, task_data) -> dict:
    """What sets the speed of a training step, and so names a cached decision.

    Args:
        cfg: the run's config.
        task_data: the run's data (its vocabulary sizes).

    Returns:
        A dict of plain values: the model's options, the vocabulary sizes, the batch size,
        the CPU's model and the CPUs this process may use, TensorFlow's version.
    """
    return {
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "vocab_sizes": list(task_data.vocabs.model_sizes()),
        "batch_size": cfg.trainer.batch_size,
        "cpu": hardware.cpu_model(),
        "cpus": len(os.sched_getaffinity(0)),
        "tensorflow": tf.__version__,
    }


def cache_path(data_dir, key: dict) -> Path:
    """`data_dir/precision/HASH.json`, the file of the decision for `key` (`cache_key`'s)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(data_dir) / CACHE_DIR / f"{digest}.json"


def read_cached(path: Path, key: dict) -> dict | None:
    """The cached measurement at `path` (`measure`'s dict), or None where there is none, or it is unreadable or of another key
    (a warning then: it is measured again and rewritten)."""
    if not path.is_file():
        return None
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached["key"] != key:
            raise ValueError("it was measured for another model or machine")
        return {k: cached[k] for k in (*MEASUREMENT, "precision", "reason")}
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("Ignoring the cached precision %s (%s): measuring again", path, error)
        return None


def trial_steps(cfg, task_data, strategy, names) -> dict:
    """`precision -> step(batch_index)` training a throwaway copy of the run's model.

    Each copy is built and compiled as the run's (under the strategy's scope), but with
    one step per call, on the first batches of the run's first epoch; a batch index past
    them starts over.

    Args:
        cfg: the run's config.
        task_data: the run's data.
        strategy: the run's `tf.distribute` strategy.
        names: the dtype policies to build copies under.

    Returns:
        One step function per name, for `hardware.step_seconds`.
    """
    trainer = OmegaConf.merge(cfg.trainer, {"steps_per_execution": 1})
    batches = pipeline.EpochBatches(
        task_data.train, trainer.batch_size, cfg.seed, trainer.group_by_length,
        trainer.steps_per_epoch,
    )  # fmt: skip
    data = _warmup_first(list(batches.dataset.take(WARMUP_STEPS + TIMED_STEPS)))
    steps = {}
    for name in names:
        with dtype_policy(name), distribute.scope(strategy):
            model = build_model(cfg.model, *task_data.vocabs.model_sizes())
            compile_model(model, trainer, total_steps=batches.steps * trainer.epochs)

        def step(index, model=model, name=name):
            with dtype_policy(name):
                model.train_on_batch(*data[index % len(data)])

        steps[name] = step
    return steps


def _shape(batch) -> tuple:
    return tuple(dim for part in tf.nest.flatten(batch) for dim in part.shape)


def _warmup_first(batches: list) -> list:
    """`batches` with, second, the one whose shape differs most from the first's.

    Keras traces its step for the first batch's shapes and, with `reduce_retracing`, once
    more for a batch of other shapes, generalized over the sizes that differed; given the
    most different batch as the second warm-up step, no timed step traces (grouped
    batches vary in length; measured: a 0.7-1 s retrace on the third batch otherwise).
    """
    if len(batches) < 3:
        return batches
    first = _shape(batches[0])

    def differing(batch):
        return sum(a != b for a, b in zip(_shape(batch), first, strict=True))

    second = max(range(1, len(batches)), key=lambda i: differing(batches[i]))
    return [batches[0], batches[second], *(b for i, b in enumerate(batches[1:], 1) if i != second)]


def measure(cfg, task_data, strategy) -> dict:
    """Times `hardware.MEASURED` on the run's model and batches, and picks.

    Returns:
        `{"precision", "reason", "seconds_per_step", "timed_steps", "measure_seconds"}`,
        the last what building, tracing and timing the copies took.
    """
    start = time.perf_counter()
    steps = trial_steps(cfg, task_data, strategy, hardware.MEASURED)
    seconds = hardware.step_seconds(steps, WARMUP_STEPS, TIMED_STEPS)
    # Rounded first, so that run.json's times give the choice and reason it records.
    seconds = {name: round(value, 6) for name, value in seconds.items()}
    chosen = hardware.pick_faster(seconds, TIMED_STEPS)
    return {
        "precision": chosen.name,
        "reason": chosen.reason,
        "seconds_per_step": seconds,
        "timed_steps": TIMED_STEPS,
        "measure_seconds": round(time.perf_counter() - start, 2),
    }


def _measured(cfg, task_data, strategy, measure_fn) -> tuple[hardware.Precision, dict]:
    """The measured decision: read from the cache, or measured and cached."""
    key = cache_key(cfg, task_data)
    path = cache_path(cfg.data_dir, key)
    found = read_cached(path, key)
    from_cache = found is not None
    if not from_cache:
        found = measure_fn(cfg, task_data, strategy)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"key": key, **found}, indent=2) + "\n")
    reason = f"{found['reason']} (cached in {path})" if from_cache else found["reason"]
    return hardware.Precision(found["precision"], reason), {
        **{k: found[k] for k in MEASUREMENT},
        "cache": str(path),
        "from_cache": from_cache,
    }


def reseeds(facts: dict) -> bool:
    """Whether the run sets its seeds again after choosing: when its precision was measured
    (or read from the cache), on its start and its resumes alike."""
    return facts.get("precision_measured") is not None


def choose_for_run(cfg, path: Path, resuming: bool, task_data, strategy, measure_fn=measure):
    """`trainer.precision` for this run, and what run.json says of it.

    Args:
        cfg: the run's config.
        path: the run directory; its `PRECISION_RECORD` is written here (read on resume).
        resuming: whether the run continues the one in `path`.
        task_data: the run's data.
        strategy: the run's `tf.distribute` strategy.
        measure_fn: what times the precisions (`measure`; tests pass a fake).

    Returns:
        `(Precision, facts)`: facts holds `precision`, `precision_reason` and
        `precision_measured` (None, or the median seconds of a step per precision, the
        number of timed steps, the seconds the measurement took, the cache file and
        whether the decision was read from it).
    """
    record = path / PRECISION_RECORD
    if resuming and record.is_file():
        facts = json.loads(record.read_text(encoding="utf-8"))
        log.info("Precision kept from the run's start (%s)", record)
    else:
        trainer = cfg.trainer
        measured = None
        # A resumed run without a record started before `auto` measured: the rule is what
        # it chose then.
        offered = hardware.measures(
            trainer.precision,
            hardware.cpu_flags(),
            gpu=bool(tf.config.list_physical_devices("GPU")),
            multi_worker=trainer.strategy == "multi_worker",
        )
        if offered and not resuming and not trainer.xla:
            chosen, measured = _measured(cfg, task_data, strategy, measure_fn)
        else:
            chosen = precision_on_this_machine(trainer)
        if offered and not resuming and trainer.xla:
            # The trial's steps would run without XLA, or compile for 13-35 s a shape.
            chosen = chosen._replace(
                reason=f"{chosen.reason}; not measured under trainer.xla=true (its steps "
                "compile for many seconds per shape), the CPU's flags decide"
            )
        facts = {
            "precision": chosen.name,
            "precision_reason": chosen.reason,
            "precision_measured": measured,
        }
        atomic_write_text(record, json.dumps(facts, indent=2) + "\n")
    if reseeds(facts):
        keras.utils.set_random_seed(cfg.seed)
    return hardware.Precision(facts["precision"], facts["precision_reason"]), facts
