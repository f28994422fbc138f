"""Training throughput: the framework's `lstm` model against a bare keras-io-style model.

The benchmark setting (configs/experiment/benchmark.yaml): reversal of exactly 10
symbols out of 10, 128 units, one layer, batch 128. Both models see the same sequences,
in the same process, alternating, so that machine noise hits both alike:

- the framework: `build_model` + `compile_model` + its tf.data pipeline, `model.fit`
  (teacher forcing, masked loss, token accuracy and exact-match metrics);
- the bare reference: Embedding, LSTM(return_state=True), LSTM(return_sequences=True,
  initial_state=[h, c]), Dense, compiled with Adam(1e-2, clipnorm=1) and fitted on the
  same arrays, as the keras-io lstm_seq2seq example does.

Each measurement is one epoch of `--steps` batches after a warm-up epoch (tracing);
the median of `--repeats` is reported. Then the framework trains from scratch until
greedy exact-match on the validation split reaches 99%, with the experiment's defaults.

    python benchmarks/training.py [--repeats 5] [--steps 96] [override ...]
"""

import argparse
import statistics
import time

import keras

from seq2seq import build_model
from seq2seq.data import pipeline
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.training.compile import compile_model, dtype_policy
from seq2seq_config import compose_config

BATCH = 128


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def benchmark_config(*overrides):
    return compose_config(["experiment=benchmark", "data_dir=data", *overrides])


def framework_runner(cfg, task_data, steps):
    """An epoch of `steps` batches of the framework's training, as `train` runs it."""
    with dtype_policy(cfg.trainer.precision):
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, cfg.trainer, total_steps=10**6)
    dataset = pipeline.training_dataset(task_data.train, BATCH, cfg.seed, 0, 10**6)
    timer = EpochTimer()

    def run():
        with dtype_policy(cfg.trainer.precision):
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
        self.curve = []

    def on_train_begin(self, logs=None):
        self.resumed = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if self.first_call_seconds is None:  # tracing and building the graph, then steps
            self.first_call_seconds = time.perf_counter() - self.resumed
        if step % self.every:
            return
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
    trainer = cfg.trainer
    every = -(-every // trainer.steps_per_execution) * trainer.steps_per_execution
    with dtype_policy(trainer.precision):
        keras.utils.set_random_seed(cfg.seed)
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        steps_per_epoch = pipeline.steps_per_epoch(task_data.train, trainer.batch_size)
        compile_model(model, trainer, total_steps=steps_per_epoch * trainer.epochs)
        stop = StopAtExactMatch(Evaluator(model, trainer.batch_size), task_data.val, target, every)
        model.fit(
            pipeline.training_dataset(task_data.train, trainer.batch_size, cfg.seed, 0, max_epochs),
            epochs=max_epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=[stop],
            verbose=0,
        )
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


def measure(repeats=5, steps=96, overrides=()):
    """Throughput of the framework (benchmark defaults, and plain float32) against the
    bare Keras model, then the framework's time to 99% held-out exact-match.

    Returns:
        A dict of the figures, ready for JSON.
    """
    cfg = benchmark_config(*overrides)
    float32 = benchmark_config(
        *overrides, "trainer.precision=float32", "trainer.steps_per_execution=1"
    )
    keras.utils.set_random_seed(0)
    task_data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    rates = throughput(
        {
            "framework": framework_runner(cfg, task_data, steps),
            "framework, float32, 1 step per call": framework_runner(float32, task_data, steps),
            "bare keras": bare_runner(task_data, steps),
        },
        steps,
        repeats,
    )
    reference = rates["bare keras"]
    return {
        "setting": "reverse, length 10, 10 symbols, 128 units, 1 layer, batch 128",
        "framework_defaults": {
            "precision": cfg.trainer.precision,
            "steps_per_execution": cfg.trainer.steps_per_execution,
            "learning_rate": cfg.trainer.learning_rate,
            "lr_schedule": cfg.trainer.lr_schedule,
        },
        "repeats": repeats,
        "sequences_per_second": {name: round(rate) for name, rate in rates.items()},
        "ratio_to_bare_keras": {name: round(rate / reference, 3) for name, rate in rates.items()},
        "time_to_99": time_to_exact_match(cfg, task_data),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("overrides", nargs="*", help="config overrides for the framework")
    args = parser.parse_args()
    figures = measure(args.repeats, args.steps, args.overrides)
    for name, rate in figures["sequences_per_second"].items():
        print(f"{name}: {rate:,} sequences/s ({figures['ratio_to_bare_keras'][name]:.2f}x)")
    reached = figures["time_to_99"]
    print(
        f"99% held-out exact-match: {reached['seconds']} s, {reached['steps']} steps "
        f"(first graph call {reached['first_call_seconds']} s)"
    )


if __name__ == "__main__":
    main()
