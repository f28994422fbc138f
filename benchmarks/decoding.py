"""Decoding throughput: sequences per second, side by side in one process.

1,000 sources of length 10 (10 symbols), a 128-unit `lstm` model (embedding 64), 11
decoding steps (10 symbols and EOS) for every decoder, so each does the same work:

- this framework: greedy and beam search (5 beams), one compiled graph per batch, and
  greedy compiled by XLA (`tf.function(jit_compile=True)`);
- keras_hub's GreedySampler and BeamSampler driving the same model's `decode_step`
  (when keras_hub is installed: `pip install -e ".[bench]"`);
- the keras-io lstm_seq2seq way: an encoder and a decoder `keras.Model`, `predict` once
  per token per sequence (timed on a few sequences, it is slow);
- a batched greedy decoder of the same size in plain PyTorch (when torch is installed), in
  a process of its own (`benchmarks/pytorch_reference.py greedy`);
- the exported SavedModel's `serve` signature, loaded back, against the in-process
  greedy decoder run for as many steps;
- the SavedModel's `serve_text_beam` (5 beams, all returned, text in and out) against
  predict's `decoding=beam decoding.n_best=5` on the same texts.

Prints a Markdown table (median of --repeats runs) and writes it with the raw figures to
benchmarks/results/decoding.{md,json}.

    python benchmarks/decoding.py [--repeats 5] [--keras-io-sequences 20]
"""

import argparse
import importlib.util
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from pytorch_process import run_script

from seq2seq import Seq2Seq, compose_config
from seq2seq.decoding import strategies
from seq2seq.decoding.beam_search import repeat_beams
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.decoding.strategies import default_max_len
from seq2seq.serving.export import export_saved_model
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, FIRST_SYMBOL_ID, Vocabularies, Vocabulary

RESULTS = Path(__file__).resolve().parent / "results"
SEQUENCES, LENGTH, SYMBOLS, UNITS, EMBEDDING = 1000, 10, 10, 128, 64
STEPS = LENGTH + 1
#: predict's default batch size (`batch_size`, seq2seq/config/command_schema.py).
PREDICT_BATCH = 500
VOCAB = FIRST_SYMBOL_ID + SYMBOLS


def make_model():
    keras.utils.set_random_seed(0)
    model = Seq2Seq(VOCAB, units=UNITS, embedding_dim=EMBEDDING)
    model.build()
    return model


def sources(n):
    rng = np.random.default_rng(0)
    return rng.integers(FIRST_SYMBOL_ID, VOCAB, size=(n, LENGTH)).astype(np.int32)


def timed(fn, repeats):
    fn()  # trace and warm up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def framework(model, source, strategy, steps=STEPS, jit_compile=False, **options):
    compiled = tf.function(
        lambda ids: strategies.decode(model, ids, steps, strategy, **options),
        jit_compile=jit_compile,
    )
    ids = tf.constant(source)
    return lambda: compiled(ids).numpy()


def saved_model_serve(model, source, directory):
    """The exported SavedModel's `serve` signature, loaded back as a server would, on
    symbol ids; it decodes up to `default_max_len` steps, as the in-process row it is
    compared with does."""
    export_saved_model(model, Path(directory) / "saved_model")
    serve = tf.saved_model.load(str(Path(directory) / "saved_model")).signatures["serve"]
    ids = tf.constant(source - FIRST_SYMBOL_ID)
    return lambda: serve(symbol_ids=ids)["symbol_ids"].numpy()


def _text_vocabs() -> Vocabularies:
    """The benchmark's symbols as a vocabulary of space-separated digits, for the text
    signatures."""
    return Vocabularies.shared(Vocabulary([str(s) for s in range(SYMBOLS)], tokenizer="space"))


def _texts(source) -> list:
    return [" ".join(str(t - FIRST_SYMBOL_ID) for t in row) for row in source]


def saved_model_beam(model, source, directory):
    """The SavedModel's `serve_text_beam` (5 beams, all 5 returned), on text, up to the
    default bound (2n + 2 steps: an untrained model never stops early)."""
    path = Path(directory) / "saved_model_text"
    export_saved_model(model, path, _text_vocabs())
    serve = tf.saved_model.load(str(path)).signatures["serve_text_beam"]
    texts = tf.constant(_texts(source))
    return lambda: serve(text=texts)["texts"].numpy()


def predict_beam(model, source, batch_size):
    """predict's decoding of the same texts: `decoding=beam decoding.n_best=5`, its batches
    of `batch_size`, to the same bound, the texts encoded and the outputs read back."""
    vocabs = _text_vocabs()
    decoding_cfg = compose_config(
        ["decoding=beam", "decoding.n_best=5"], config_name="predict"
    ).decoding
    texts = _texts(source)

    def run():
        sequences = [vocabs.source.encode_text(t) for t in texts]
        outputs = decode_sequences(model, sequences, decoding_cfg, batch_size)
        return [[vocabs.target.decode_text(ids) for ids, _ in hypotheses] for hypotheses in outputs]

    return run


def keras_hub_sampler(model, source, sampler):
    """A keras_hub sampler over this model's decode_step, the LSTM states as its cache."""
    batch = source.shape[0]
    beams = getattr(sampler, "num_beams", 1)

    @tf.function
    def run(ids):
        encoded = model.encode(ids, training=False)
        state = model.initial_decoder_state(encoded)
        encoded = repeat_beams(encoded, beams)
        prompt = tf.concat(
            [tf.fill([batch, 1], BOS_ID), tf.zeros([batch, STEPS], tf.int32)], axis=1
        )

        def next_fn(prompt, cache, index):
            logits, cache = model.decode_step(prompt[:, index - 1], cache, encoded)
            return logits, None, cache

        return sampler(next_fn, prompt, cache=state, index=1, stop_token_ids=(EOS_ID,))

    ids = tf.constant(source)
    return lambda: run(ids).numpy()


def keras_io_way(model, source):
    """keras-io lstm_seq2seq: inference models, `predict` per token per sequence."""
    encoder_input = keras.Input((None,), dtype="int32")
    _, states = model.encoder(model.embedding(encoder_input))
    encoder_model = keras.Model(encoder_input, states[0])
    token = keras.Input((1,), dtype="int32")
    h, c = keras.Input((UNITS,)), keras.Input((UNITS,))
    outputs, (new_state,) = model.decoder(model.embedding(token), initial_states=[[h, c]])
    decoder_model = keras.Model([token, h, c], [model.output_projection(outputs), *new_state])

    def decode_all():
        for row in source:
            state = encoder_model.predict(row[None, :], verbose=0)
            target = np.array([[BOS_ID]], np.int32)
            for _ in range(STEPS):
                logits, h_value, c_value = decoder_model.predict([target, *state], verbose=0)
                target = np.argmax(logits[:, -1:], axis=-1).astype(np.int32)
                state = [h_value, c_value]

    return decode_all


def pytorch_greedy(source, repeats) -> float:
    """The same sizes in plain PyTorch: batched greedy decoding, no autograd, in a process
    of its own on the framework's threads (benchmarks/pytorch_process.py); sequences/s."""
    arrays = {"source": source, "sizes": np.array([VOCAB, VOCAB])}
    args = ["--steps", str(STEPS), "--repeats", str(repeats), "--units", str(UNITS)]
    args += ["--embedding-dim", str(EMBEDDING)]
    return run_script("pytorch_reference.py", arrays, "greedy", *args)["sequences_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras-io-sequences", type=int, default=20)
    args = parser.parse_args()
    model = make_model()
    source = sources(SEQUENCES)
    serve_steps = default_max_len(LENGTH)  # an untrained model never stops early
    exported = tempfile.TemporaryDirectory()
    rows = {
        "framework greedy": (framework(model, source, "greedy"), SEQUENCES),
        "framework greedy, XLA (jit_compile=True)": (
            framework(model, source, "greedy", jit_compile=True),
            SEQUENCES,
        ),
        "framework beam (5)": (framework(model, source, "beam", beam_size=5, alpha=0.0), SEQUENCES),
        f"framework greedy, {serve_steps} steps, in process": (
            framework(model, source, "greedy", steps=serve_steps),
            SEQUENCES,
        ),
        f"SavedModel `serve`, {serve_steps} steps": (
            saved_model_serve(model, source, exported.name),
            SEQUENCES,
        ),
        f"predict, beam (5), n-best 5, {serve_steps} steps, in batches of {PREDICT_BATCH}": (
            predict_beam(model, source, PREDICT_BATCH),
            SEQUENCES,
        ),
        f"SavedModel `serve_text_beam` (5), {serve_steps} steps, one batch": (
            saved_model_beam(model, source, exported.name),
            SEQUENCES,
        ),
    }
    try:
        import keras_hub  # noqa: PLC0415 - optional

        rows["keras_hub GreedySampler"] = (
            keras_hub_sampler(model, source, keras_hub.samplers.GreedySampler()),
            SEQUENCES,
        )
        rows["keras_hub BeamSampler (5)"] = (
            keras_hub_sampler(model, source, keras_hub.samplers.BeamSampler(num_beams=5)),
            SEQUENCES,
        )
    except ImportError:
        print("keras_hub not installed: skipped")
    small = source[: args.keras_io_sequences]
    rows["keras-io way (predict per token)"] = (keras_io_way(model, small), len(small))

    figures = {}
    for name, (fn, count) in rows.items():
        repeats = 1 if "keras-io" in name else args.repeats
        figures[name] = count / timed(fn, repeats)
        print(f"{name}: {figures[name]:,.1f} sequences/s", flush=True)
    if importlib.util.find_spec("torch") is not None:
        name = "PyTorch greedy (batched, a process of its own)"
        figures[name] = pytorch_greedy(source, args.repeats)
        print(f"{name}: {figures[name]:,.1f} sequences/s", flush=True)
    else:
        print("torch not installed: skipped")
    greedy = figures["framework greedy"]
    lines = ["| decoder | sequences/s | framework greedy / this |", "|---|---|---|"]
    for name, rate in figures.items():
        ratio = "" if name == "framework greedy" else f"{greedy / rate:,.2f}"
        lines.append(f"| {name} | {rate:,.1f} | {ratio} |")
    machine = f"{platform.processor() or platform.machine()}, {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} threads"
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "decoding.md").write_text(table + "\n")
    (RESULTS / "decoding.json").write_text(
        json.dumps({"sequences_per_second": figures, "machine": machine}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
