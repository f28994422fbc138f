"""The exported decoder (seq2seq-export) against predict and the SavedModel, on the G2P-sized
model: file sizes, load time, words per second, and int8's agreement with float32.

The model is benchmarks/real_data.py's setting (spellings to phoneme-like symbols from the
stand-in dictionary: `attention`, bidirectional 256-unit encoder, dense bridge), trained
briefly here (`--epochs`, float32) so that its outputs are words rather than noise. The
same test words go through: `predict`'s own path (`decode_sequences`, batches of 500), the
run's SavedModel (`serve_text`, one batch of strings; `serve_text_beam` for beam), and the
exported decoder (`decode.py`'s `Decoder`, in this process, batches of 500) for ONNX float32
and int8 and LiteRT float32 and int8. Load time: from nothing to a model that decodes (the
run's files, the SavedModel, or the two exported models and the manifest). Each speed is the
median of `--repeats` runs after a warm-up run.

    python benchmarks/export.py [--pairs 8000] [--epochs 3] [--words 500] [--repeats 2]

Writes benchmarks/results/export.{json,md}.
"""

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from machine import load_average, machine
from real_data import DESCRIPTION, SETTING, write_files

import seq2seq
from seq2seq import compose_config
from seq2seq.base.names import PORTABLE_DECODER, SAVED_MODEL_EXPORT
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.export import main as export_main
from seq2seq.serving.finished_run import load_run

RESULTS = Path(__file__).resolve().parent / "results"
EXPORTS = {
    "ONNX float32": ["format=onnx"],
    "ONNX int8": ["format=onnx", "quantize=int8"],
    "LiteRT float32": ["format=litert"],
    "LiteRT int8": ["format=litert", "quantize=int8"],
}


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: tracing, the runtimes' first allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def size_mb(*paths: Path) -> float:
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return round(sum(f.stat().st_size for f in files) / 1e6, 2)


def decoder_module(folder: Path):
    """The export's decode.py, imported as a module (its `Decoder` and helpers)."""
    spec = importlib.util.spec_from_file_location(
        f"decode_{folder.name}", folder / PORTABLE_DECODER
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    files = write_files(work, args.pairs)
    cfg = compose_config([*SETTING, *files, f"trainer.epochs={args.epochs}", "trainer.precision=float32",
                          "logging.images=false", "logging.samples=0", "logging.histogram_freq=0"])  # fmt: skip
    run_dir = work / "run"
    start = time.perf_counter()
    seq2seq.train(cfg, run_dir=str(run_dir))
    train_seconds = time.perf_counter() - start
    pairs = [line.split("\t") for line in (work / "test.tsv").read_text().splitlines()]
    pairs = (pairs * (args.words // len(pairs) + 1))[: args.words]
    words, references = [p[0] for p in pairs], [p[1] for p in pairs]
    rows, outputs = {}, {}

    start = time.perf_counter()
    run = load_run(run_dir)
    load_seconds = time.perf_counter() - start
    vocab = run.vocabs
    sequences = [vocab.source.encode_text(w) for w in words]
    bound = run.decoding_bound()
    greedy_cfg = compose_config(["decoding=greedy"], config_name="predict").decoding
    beam_cfg = compose_config(["decoding=beam"], config_name="predict").decoding

    def predict(decoding):
        found = decode_sequences(run.model, sequences, decoding, 500, bound)
        return [vocab.target.decode_text(h[0][0]) for h in found]

    outputs["predict"] = predict(greedy_cfg)
    rows["predict"] = {
        "files_mb": size_mb(run_dir / "model.keras", run_dir / "vocab.json"),
        "load_s": round(load_seconds, 2),
        "greedy_words_s": round(
            len(words) / median_seconds(lambda: predict(greedy_cfg), args.repeats)
        ),
        "beam5_words_s": round(
            len(words) / median_seconds(lambda: predict(beam_cfg), args.repeats)
        ),
    }
    start = time.perf_counter()
    served = tf.saved_model.load(str(run_dir / SAVED_MODEL_EXPORT))
    load_seconds = time.perf_counter() - start
    texts = tf.constant(words)
    greedy, beam = served.signatures["serve_text"], served.signatures["serve_text_beam"]
    outputs["SavedModel"] = [t.decode() for t in greedy(text=texts)["text"].numpy()]
    rows["SavedModel"] = {
        "files_mb": size_mb(run_dir / SAVED_MODEL_EXPORT),
        "load_s": round(load_seconds, 2),
        "greedy_words_s": round(
            len(words) / median_seconds(lambda: greedy(text=texts), args.repeats)
        ),
        "beam5_words_s": round(len(words) / median_seconds(lambda: beam(text=texts), args.repeats)),
    }
    for name, overrides in EXPORTS.items():
        folder = work / name.replace(" ", "_")
        assert export_main([f"run_dir={run_dir}", f"output_dir={folder}", *overrides]) == 0
        module = decoder_module(folder)
        start = time.perf_counter()
        decoder = module.Decoder(folder)
        load_seconds = time.perf_counter() - start
        lines, _ = module.parse_inputs(
            words, decoder, argparse.Namespace(max_input_len=10**6, on_unknown="warn"), "input"
        )

        def decode(decoding, decoder=decoder, lines=lines):
            options = {"decoding": decoding, "beam_size": 5, "length_penalty": 0.0, "n_best": 1,
                       "batch_size": 500, "max_len": None}  # fmt: skip
            return [decoder.target.text(h[0][0]) for h in decoder.decode(lines, options)]

        outputs[name] = decode("greedy")
        model_files = [folder / decoder.manifest[part]["file"] for part in ("encoder", "step")]
        rows[name] = {
            "files_mb": size_mb(*model_files),
            "load_s": round(load_seconds, 2),
            "greedy_words_s": round(
                len(words) / median_seconds(lambda d=decode: d("greedy"), args.repeats)
            ),
            "beam5_words_s": round(
                len(words) / median_seconds(lambda d=decode: d("beam"), args.repeats)
            ),
        }
    for name, decoded in outputs.items():
        rows[name]["exact_match"] = round(
            float(np.mean([d == r for d, r in zip(decoded, references)])), 4
        )
        rows[name]["same_as_predict"] = round(
            float(np.mean([d == p for d, p in zip(decoded, outputs["predict"])])), 4
        )
    for name in ("ONNX int8", "LiteRT int8"):
        float32 = outputs[name.replace("int8", "float32")]
        rows[name]["same_as_float32"] = round(
            float(np.mean([a == b for a, b in zip(outputs[name], float32)])), 4
        )
    result = {
        "machine": machine(), "load_average": load_average(), "setting": DESCRIPTION,
        "pairs": args.pairs, "epochs": args.epochs, "train_seconds": round(train_seconds),
        "words": len(words), "repeats": args.repeats, "rows": rows,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(result, indent=1) + "\n")
    keys = [
        "files_mb",
        "load_s",
        "greedy_words_s",
        "beam5_words_s",
        "exact_match",
        "same_as_predict",
        "same_as_float32",
    ]
    table = ["| decoder | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    table += [
        f"| {name} | " + " | ".join(str(row.get(k, "")) for k in keys) + " |"
        for name, row in rows.items()
    ]
    text = (
        f"# The exported decoder against predict and the SavedModel\n\n{result['machine']}; load "
        f"average {result['load_average']} at the end; {DESCRIPTION}; {args.pairs} training pairs, "
        f"{args.epochs} epochs (float32); {len(words)} test words; medians of {args.repeats}.\n\n"
        + "\n".join(table) + "\n"
    )  # fmt: skip
    (RESULTS / "export.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
