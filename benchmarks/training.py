"""Training throughput: the framework's `lstm` model against a bare keras-io-style model
and a plain PyTorch reference of the same model.

The benchmark setting (configs/experiment/benchmark.yaml): reversal of exactly 10
symbols out of 10, 128 units, embedding 64, one layer, batch 128. Every model sees the
same sequences; the framework and bare Keras in this process, alternating, so that machine
noise hits both alike, and PyTorch in a process of its own on as many threads
(benchmarks/pytorch_process.py):

- the framework: `build_model` + `compile_model` + its tf.data pipeline, `model.fit`
  (teacher forcing, masked loss, token accuracy and exact-match metrics), under the
  precision `trainer.precision=auto` picks here, at 1, 4 and 16 steps per graph call;
- the bare reference: Embedding, LSTM(return_state=True), LSTM(return_sequences=True,
  initial_state=[h, c]), Dense, compiled with Adam(1e-2, clipnorm=1) and fitted on the
  same arrays, as the keras-io lstm_seq2seq example does;
- plain PyTorch (benchmarks/pytorch_reference.py, its `throughput` and `time-to-99`
  modes), when torch is installed (`make bench` installs the CPU wheel).

Each measurement is one epoch of `--steps` batches after a warm-up epoch (tracing);
the median of `--repeats` is reported. Then the framework (the experiment's defaults)
and the PyTorch reference each train from scratch until greedy exact-match on the
validation split reaches 99%, the clock stopped while it is measured.

    python benchmarks/training.py [--repeats 5] [--steps 96] [override ...]
"""

import argparse
import importlib.util
import statistics
import time

import keras
from pytorch_process import run_script, task_arrays

from seq2seq import build_model, compose_config
from seq2seq.config.task_defaults import with_task_defaults
from seq2seq.data import pipeline
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.training.compile import compile_model, dtype_policy, precision_on_this_machine

BATCH = 128
#: Steps per graph call measured; the benchmark setting uses the one that measured fastest.
STEPS_PER_CALL = (1, 4, 16)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def benchmark_config(*overrides):
    return compose_config(["experiment=benchmark", "data_dir=data", *overrides])


def framework_runner(cfg, task_data, steps):
    """An epoch of `steps` batches of the framework's training, as `train` runs it."""
    precision = precision_on_this_machine(cfg.trainer).name
    with dtype_policy(precision):
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, cfg.trainer, total_steps=10**6)
    dataset = pipeline.training_dataset(task_data.train, BATCH, cfg.seed, 0, 10**6)
    timer = EpochTimer()

    def run():
        with dtype_policy(precision):
            model.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
        return timer.seconds

    return run


def bare_keras_model(vocab_size, units=128, embedding_dim=64):
    """The keras-io lstm_seq2seq shape, with embeddings instead of one-hot inputs."""
    encoder_ids = keras.Input((None,), dtype="int32")
    decoder_ids = keras.Input((None,), dtype="int32")
    encoded = keras.layers.Embedding(vocab_size, embedding_dim)(encoder_ids)
    _, h, c = keras.layers.LSTM(units, return_state=True)(encoded)
    embedded = keras.layers.Embedding(vocab_size, embedding_dim)(decoder_ids)
    outputs = keras.layers.LSTM(units, return_sequences=True)(embedded, initial_state=[h, c])
    logits = keras.layers.Dense(vocab_size)(outputs)
    model = keras.Model([encoder_ids, decoder_ids], logits)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def bare_runner(task_data, steps):
    x, y, _ = pipeline.teacher_forcing_arrays(task_data.train)
    n = steps * BATCH
    inputs = [x["encoder_token_ids"][:n], x["decoder_token_ids"][:n]]
    model = bare_keras_model(task_data.vocabs.source.size)
    timer = EpochTimer()

    def run():
        model.fit(inputs, y[:n], batch_size=BATCH, epochs=1, callbacks=[timer], verbose=0)
        return timer.seconds

    return run


class StopAtExactMatch(keras.callbacks.Callback):
    """Every `every` steps, measures greedy exact-match on a held-out split, off the clock.

    Training time counts only the steps: the clock stops while the split is decoded.
    Training stops once exact-match reaches `target`.
    """

    def __init__(self, evaluator, split, target, every):
        super().__init__()
        self.evaluator, self.split, self.target, self.every = evaluator, split, target, every
        self.seconds = 0.0
        self.steps = None
        self.first_call_seconds = None
        self.checked = 0
        self.curve = []

    def on_train_begin(self, logs=None):
        self.resumed = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if self.first_call_seconds is None:  # tracing and building the graph, then steps
            self.first_call_seconds = time.perf_counter() - self.resumed
        # Not `step % every`: an epoch's last call may run fewer steps than the others.
        if step - self.checked < self.every:
            return
        self.checked = step
        self.seconds += time.perf_counter() - self.resumed
        exact_match = self.evaluator(self.split)["exact_match"]
        self.curve.append((step, round(self.seconds, 2), exact_match))
        if exact_match >= self.target:
            self.steps = step
            self.model.stop_training = True
        self.resumed = time.perf_counter()


def time_to_exact_match(cfg, task_data, target=0.99, every=16, max_epochs=20):
    """Training time and steps of the framework until held-out exact-match >= target.

    The model, optimizer, schedule and data pipeline are the ones `train` uses for `cfg`;
    the held-out split is the validation split, decoded greedily every `every` steps
    (rounded up to a multiple of `trainer.steps_per_execution`).

    Returns:
        A dict: `seconds` and `steps` to the target (None if not reached within
        `max_epochs`), `first_call_seconds` (the first graph call: tracing plus its
        steps, included in `seconds`), and `curve`, `(step, seconds, exact_match)` at
        each check.
    """
    cfg = with_task_defaults(cfg)
    trainer = cfg.trainer
    every = -(-every // trainer.steps_per_execution) * trainer.steps_per_execution
    with dtype_policy(precision_on_this_machine(trainer).name):
        keras.utils.set_random_seed(cfg.seed)
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        batches = pipeline.EpochBatches(
            task_data.train, trainer.batch_size, cfg.seed, trainer.group_by_length
        )
        compile_model(model, trainer, total_steps=batches.steps * trainer.epochs)
        stop = StopAtExactMatch(Evaluator(model, trainer.batch_size), task_data.val, target, every)
        model.fit(batches.dataset, epochs=max_epochs, callbacks=[batches, stop], verbose=0)
    return {
        "seconds": round(stop.seconds, 2) if stop.steps else None,
        "steps": stop.steps,
        "first_call_seconds": round(stop.first_call_seconds, 2),
        "curve": stop.curve,
    }


def throughput(runners, steps, repeats):
    """Median sequences per second of each runner, runs alternating."""
    for run in runners.values():
        run()  # warm-up: tracing
    seconds = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            seconds[name].append(run())
    return {name: steps * BATCH / statistics.median(s) for name, s in seconds.items()}


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def measure(repeats=5, steps=96, overrides=()):
    """Throughput of the framework (the benchmark setting, with 1, 4 and 16 steps per
    graph call) against the bare Keras model and the plain PyTorch reference (when torch
    is installed), then each one's time to 99% held-out exact-match.

    Returns:
        A dict of the figures, ready for JSON.
    """
    cfg = benchmark_config(*overrides)
    keras.utils.set_random_seed(0)
    task_data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    runners = {
        f"framework, {n} steps per call": framework_runner(
            benchmark_config(*overrides, f"trainer.steps_per_execution={n}"), task_data, steps
        )
        for n in STEPS_PER_CALL
    }
    runners["bare keras"] = bare_runner(task_data, steps)
    rates = throughput(runners, steps, repeats)
    arrays = task_arrays(task_data)
    if torch_installed():
        rates["pytorch"] = run_script(
            "pytorch_reference.py", arrays, "throughput", "--steps", str(steps),
            "--batch", str(BATCH), "--repeats", str(repeats),
        )["sequences_per_second"]  # fmt: skip
    default = f"framework, {cfg.trainer.steps_per_execution} steps per call"
    rates = {"framework": rates.pop(default), **rates}
    reached = {"framework": time_to_exact_match(cfg, task_data)}
    if torch_installed():
        batch = str(cfg.trainer.batch_size)
        reached["pytorch"] = run_script(
            "pytorch_reference.py", arrays, "time-to-99", "--batch", batch
        )
    precision = precision_on_this_machine(cfg.trainer)
    return {
        "setting": "reverse, length 10, 10 symbols, 128 units, 1 layer, batch 128",
        "framework_defaults": {
            "precision": precision.name,
            "precision_reason": precision.reason,
            "steps_per_execution": cfg.trainer.steps_per_execution,
            "learning_rate": cfg.trainer.learning_rate,
            "lr_schedule": cfg.trainer.lr_schedule,
        },
        "repeats": repeats,
        "sequences_per_second": {name: round(rate) for name, rate in rates.items()},
        "ratio_to_bare_keras": ratios(rates, "bare keras"),
        "ratio_to_pytorch": ratios(rates, "pytorch") if "pytorch" in rates else None,
        "time_to_99": reached,
    }


def ratios(rates: dict, reference: str) -> dict:
    return {name: round(rate / rates[reference], 3) for name, rate in rates.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("overrides", nargs="*", help="config overrides for the framework")
    args = parser.parse_args()
    figures = measure(args.repeats, args.steps, args.overrides)
    to_torch = figures["ratio_to_pytorch"] or {}
    for name, rate in figures["sequences_per_second"].items():
        versus = f", {to_torch[name]:.2f}x PyTorch" if name in to_torch else ""
        print(
            f"{name}: {rate:,} sequences/s ({figures['ratio_to_bare_keras'][name]:.2f}x bare Keras{versus})"
        )
    for name, reached in figures["time_to_99"].items():
        print(f"{name}, 99% held-out exact-match: {reached['seconds']} s, {reached['steps']} steps")


if __name__ == "__main__":
    main()
