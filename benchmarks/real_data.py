"""Training speed on a setting shaped like real data, against plain PyTorch on the same batches.

The setting: spellings to pronunciations on a generated stand-in for a pronouncing
dictionary (benchmarks/stand_in.py: letters in, ARPAbet-like symbols out, lengths like a
dictionary's), read as a user's file of pairs is (`task=tsv`, `char` source and `space`
target tokenizers, separate vocabularies, batches grouped by length: the files-of-pairs
default), the `attention` model with a bidirectional 256-unit encoder and a dense bridge,
batch 128, everything else the defaults (`trainer.precision=auto` among them). The plain
PyTorch reference (benchmarks/pytorch_attention.py) is the same model with the same
parameter count (checked), trained on exactly the framework's batches of each epoch, in a
process of its own on as many threads as the framework (benchmarks/pytorch_process.py:
inside this process it measured 160 ms a step against 57 ms alone); each figure is the
median of one-epoch runs after a warm-up epoch (tracing).

    python benchmarks/real_data.py [--pairs 8000] [--repeats 3] [override ...]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import stand_in
import tensorflow as tf
from decoding import timed
from pytorch_process import epoch_batches, run_script

from seq2seq import build_model, compose_config
from seq2seq.config.task_defaults import with_task_defaults
from seq2seq.data import pipeline
from seq2seq.data.batching import epoch_plan, padding_share
from seq2seq.data.load import load_task_data
from seq2seq.decoding.strategies import greedy_decode
from seq2seq.training.compile import compile_model, dtype_policy, precision_on_this_machine

SETTING = [
    "task=tsv", "task.source_tokenizer=char", "task.target_tokenizer=space", "model=attention",
    "model.bidirectional=true", "model.units=256", "model.bridge=dense",
]  # fmt: skip
#: What the setting is, in words, for the tables.
DESCRIPTION = (
    "stand-in dictionary (char -> phoneme-like symbols), attention, bidirectional 256, "
    "dense bridge, batch 128 grouped by length"
)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def write_files(directory: Path, pairs: int) -> list[str]:
    """The stand-in's training, validation and test files; the overrides that read them."""
    for name, n, seed in (("train", pairs, 0), ("dev", 1000, 1), ("test", 200, 2)):
        stand_in.write_tsv(directory / f"{name}.tsv", n, seed)
    return [
        f"task.train_path={directory / 'train.tsv'}",
        f"task.val_path={directory / 'dev.tsv'}",
        f"task.test_path={directory / 'test.tsv'}",
        f"data_dir={directory / 'cache'}",
    ]


def framework_runner(cfg, task_data, batches):
    """`run() -> seconds` for one epoch of `fit`, as `train` compiles and feeds the model."""
    trainer = cfg.trainer
    precision = precision_on_this_machine(trainer).name
    with dtype_policy(precision):
        keras.utils.set_random_seed(cfg.seed)
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, trainer, total_steps=batches.steps * trainer.epochs)
    timer = EpochTimer()
    epoch = [0]

    def run():
        with dtype_policy(precision):
            model.fit(
                batches.dataset, initial_epoch=epoch[0], epochs=epoch[0] + 1,
                callbacks=[batches, timer], verbose=0,
            )  # fmt: skip
        epoch[0] += 1
        return timer.seconds

    return run, model


#: Greedy decoding's steps a source, the framework's and the PyTorch reference's alike.
GREEDY_STEPS = 20


def greedy_decoding(model, split, repeats, steps=GREEDY_STEPS) -> dict:
    """Greedy decoding of the validation words, `steps` steps each, sequences per second:
    the framework's in-graph decoder (as validation and predict run it, and compiled by
    XLA), medians of `repeats` (the PyTorch reference's batched loop is timed in its own
    process)."""
    source = split.source_ids
    ids = tf.constant(source)
    runs = {
        "framework": tf.function(lambda x: greedy_decode(model, x, steps)),
        "framework, XLA": tf.function(lambda x: greedy_decode(model, x, steps), jit_compile=True),
    }
    runs = {name: (lambda fn=fn: fn(ids).numpy()) for name, fn in runs.items()}
    return {name: round(len(source) / timed(fn, repeats)) for name, fn in runs.items()}


def pytorch_references(cfg, task_data, batches_of_epoch, repeats) -> dict:
    """The PyTorch reference, packed and unpacked, each in a process of its own on the
    framework's batches of epochs 0 (warm-up) to `repeats`; its figures by name."""
    arrays = epoch_batches(batches_of_epoch, repeats + 1)
    arrays["val_source"] = task_data.val.source_ids.astype("int64")
    arrays["sizes"] = np.array(
        (task_data.vocabs.source.size, task_data.vocabs.target.size), np.int64
    )
    args = ["--units", str(cfg.model.units), "--embedding-dim", str(cfg.model.embedding_dim),
            "--greedy-steps", str(GREEDY_STEPS), "--repeats", str(repeats)]  # fmt: skip
    return {
        "pytorch": run_script("pytorch_attention.py", arrays, *args),
        "pytorch, unpacked": run_script("pytorch_attention.py", arrays, *args, "--unpacked"),
    }


def measure(pairs=8000, repeats=3, overrides=()):
    """Milliseconds per training step of the framework and of the PyTorch reference.

    Returns:
        A dict of the figures, ready for JSON (`ms_per_step`, `ratio_to_pytorch`:
        PyTorch's time over the framework's, above 1 when the framework is faster).
    """
    with tempfile.TemporaryDirectory() as directory:
        files = write_files(Path(directory), pairs)
        cfg = with_task_defaults(compose_config([*SETTING, *files, *overrides]))
        task_data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    train, trainer = task_data.train, cfg.trainer
    lengths = train.source_lengths + train.target_lengths
    batches = pipeline.EpochBatches(train, trainer.batch_size, cfg.seed, trainer.group_by_length)

    def batches_of_epoch(epoch):
        plan = epoch_plan(lengths, trainer.batch_size, cfg.seed, epoch, trainer.group_by_length)
        return [pipeline.teacher_forcing(*train.pad_rows(rows)) for rows in plan]

    framework, model = framework_runner(cfg, task_data, batches)
    runners = {"framework": framework}
    precision = precision_on_this_machine(trainer)
    if precision.name != "float32":  # what the choice of precision is worth here
        float32 = with_task_defaults(
            compose_config([*SETTING, *files, *overrides, "trainer.precision=float32"])
        )
        runners["framework, float32"] = framework_runner(float32, task_data, batches)[0]
    for run in runners.values():
        run()  # warm-up: tracing
    seconds = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            seconds[name].append(run())
    ms = {name: 1000 * statistics.median(s) / batches.steps for name, s in seconds.items()}
    decoding = greedy_decoding(model, task_data.val, repeats)
    references = pytorch_references(cfg, task_data, batches_of_epoch, repeats)
    parameters = references["pytorch"]["parameters"]
    if parameters != model.count_params():
        raise RuntimeError(
            f"the PyTorch reference has {parameters:,} parameters, "
            f"the framework's model {model.count_params():,}: not the same model"
        )
    for name, figures in references.items():
        ms[name] = figures["ms_per_step"]
    decoding["pytorch"] = round(references["pytorch"]["greedy_sequences_per_second"])
    plan = epoch_plan(lengths, trainer.batch_size, cfg.seed, 0, trainer.group_by_length)
    return {
        "setting": DESCRIPTION,
        "training_pairs": len(train),
        "steps_per_epoch": batches.steps,
        "padding_share": round(padding_share(plan, train.source_lengths, train.target_lengths), 3),
        "parameters": model.count_params(),
        "precision": precision.name,
        "repeats": repeats,
        "pytorch_threads": references["pytorch"]["threads"],
        "ms_per_step": {name: round(value, 1) for name, value in ms.items()},
        "ratio_to_pytorch": {
            name: round(ms["pytorch"] / value, 3) for name, value in ms.items() if name != "pytorch"
        },
        "greedy_decoding_sequences_per_second": decoding,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="config overrides for the framework")
    args = parser.parse_args()
    figures = measure(args.pairs, args.repeats, args.overrides)
    ratios = figures["ratio_to_pytorch"]
    for name, value in figures["ms_per_step"].items():
        versus = f" ({ratios[name]:.2f}x PyTorch)" if name in ratios else ""
        print(f"{name}: {value} ms a step{versus}")
    for name, rate in figures["greedy_decoding_sequences_per_second"].items():
        print(f"greedy decoding, {name}: {rate:,} sequences/s")
    print(
        f"precision auto: {figures['precision']}; {figures['steps_per_epoch']} steps an epoch, "
        f"{figures['padding_share']:.0%} padding"
    )


if __name__ == "__main__":
    main()
