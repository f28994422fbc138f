"""Writes a finished run for ONNX Runtime or LiteRT (`seq2seq.export` is the command).

The folder holds the encoder and one decoder step (`seq2seq.serving.portable_models`),
converted by Keras' own exporters (`model.export(format="onnx")` through tf2onnx;
`format="litert"` through TensorFlow's converter), the manifest the decoder reads, and the
decoder itself (`seq2seq.serving.portable_decode`, written as a script of its own). int8
weights: ONNX Runtime's `quantize_dynamic` on the float32 models, or the LiteRT converter's
default optimization (dynamic-range quantization); activations stay float32 either way.

Before the folder replaces an earlier one, the exported models run on a sample of sources
in their runtime and are compared with the Keras model's states and logits: a conversion
that changed the computation is refused, naming the largest difference.
"""

import contextlib
import json
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from omegaconf import DictConfig

from seq2seq.base.errors import RunError
from seq2seq.base.files import atomic_write
from seq2seq.base.names import (
    PORTABLE_DECODER,
    PORTABLE_MANIFEST,
    PORTABLE_MODELS,
    SHARED_SUBWORD_MODEL,
    SOURCE_SUBWORD_MODEL,
    TARGET_SUBWORD_MODEL,
)
from seq2seq.base.version import __version__
from seq2seq.serving.finished_run import load_run
from seq2seq.serving.portable_models import (
    CARRIED,
    PortableEncoder,
    PortableStep,
    signatures,
    state_layout,
    state_name,
    step_inputs,
)
from seq2seq.text.text_rules import run_normalization
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, FIRST_SYMBOL_ID, PAD_ID, Vocabulary

#: The decoder's source, written into every export with the manifest's name filled in.
DECODER_SOURCE = Path(__file__).with_name("portable_decode.py")
#: The line of the decoder that the export fills in (it cannot import this package).
MANIFEST_LINE = "MANIFEST = None\n"
#: How far the exported models' float32 outputs may be from Keras' (they measured 1e-7);
#: int8 weights are checked by what they decode (the benchmark), not here.
TOLERANCE = 1e-4


@contextlib.contextmanager
def _quiet_converters():
    """tf2onnx logs each graph rewrite it tried, TensorFlow each lookup table its SavedModel
    step skips (none of the two models has one), at WARNING, and Keras' patch of tf2onnx warns
    of NumPy 2: a command shows its own lines."""
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _export_onnx(model, path: Path, signature: list, quantize: str) -> None:
    if quantize == "none":
        model.export(str(path), format="onnx", input_signature=signature, verbose=False)
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415 - int8 only

    with tempfile.TemporaryDirectory() as directory:
        float32 = Path(directory) / path.name
        model.export(str(float32), format="onnx", input_signature=signature, verbose=False)
        quantize_dynamic(float32, path, weight_type=QuantType.QInt8)


def _export_litert(model, path: Path, signature: list, quantize: str) -> None:
    options = {"optimizations": [tf.lite.Optimize.DEFAULT]} if quantize == "int8" else {}
    model.export(str(path), format="litert", input_signature=signature, verbose=False, **options)


#: Each format's exporter, and its encoder's batch (LiteRT's interpreter runs the
#: encoder's loop over time only for a fixed batch; ONNX Runtime takes any).
EXPORTERS = {"onnx": (_export_onnx, None), "litert": (_export_litert, 1)}


def _side(vocab: Vocabulary, subword_model: str | None) -> dict:
    """What the decoder needs of one side: its tokens in id order and how text splits."""
    return {
        "tokens": vocab.tokens,
        "tokenizer": vocab.tokenizer,
        "first_symbol_id": FIRST_SYMBOL_ID,
        "unknown_id": vocab.unknown_id,
        "subword_model": subword_model if vocab.splitter.trained else None,
        "describe": vocab.describe(),
        "input_words": vocab.splitter.input_words,
    }


def manifest(run, cfg: DictConfig, run_cfg, step: PortableStep, files: tuple) -> dict:
    """The export's manifest: what the decoder (and a caller in another language) reads.

    Args:
        run: the loaded run.
        cfg: the `export` config.
        run_cfg: the run's training config.
        step: the step wrapper (its inputs' names).
        files: the (encoder, step) file names.

    Returns:
        A JSON-ready dict (docs/export.md describes each key).
    """
    bound = run.decoding_bound()
    vocabs = run.vocabs
    shared = vocabs.is_shared
    models = {"onnx": "ONNX", "litert": "LiteRT"}
    states = [state_name(i) for i in range(sum(step.layout))]
    max_input_len = (
        cfg.max_input_symbols or vocabs.source.max_source_len or run_cfg.task.max_source_symbols
    )
    return {
        "seq2seq_version": __version__,
        "format": models[cfg.format],
        "quantize": cfg.quantize,
        "family": run.model.family,
        "special_ids": {"pad": PAD_ID, "bos": BOS_ID, "eos": EOS_ID},
        "encoder": {
            "file": files[0],
            "inputs": ["source_ids"],
            "batch": EXPORTERS[cfg.format][1],
            "outputs": [*states, *CARRIED[run.model.family][:1]],
        },  # fmt: skip
        "step": {
            "file": files[1],
            "inputs": step_inputs(step),
            "states": states,
            "carried": list(CARRIED[run.model.family]),
            "outputs": ["logits", *(f"next_{name}" for name in states)],
        },  # fmt: skip
        "source": _side(vocabs.source, SHARED_SUBWORD_MODEL if shared else SOURCE_SUBWORD_MODEL),
        "target": _side(vocabs.target, SHARED_SUBWORD_MODEL if shared else TARGET_SUBWORD_MODEL),
        "normalize": run_normalization(run.config.task),
        "length_bound": {
            "milli": [bound.slope_milli, bound.intercept_milli],
            "describe": bound.describe(),
        },  # fmt: skip
        "max_input_len": int(max_input_len),
        "beam": {"beam_size": 5, "length_penalty": 0.0},
    }


def _runtime_outputs(path: Path, feeds: dict) -> dict:
    """One exported model's outputs in its own runtime: ONNX Runtime, or LiteRT's
    interpreter (ai-edge-litert's, as the decoder runs it; without it, TensorFlow's own copy,
    which warns that it is deprecated)."""
    if path.suffix == ".onnx":
        import onnxruntime  # noqa: PLC0415 - the export extra, format=onnx only

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [tensor.name for tensor in session.get_outputs()]
        return dict(zip(names, session.run(None, feeds)))
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415 - the export extra
    except ImportError:
        Interpreter = tf.lite.Interpreter  # noqa: N806 - the same class, TensorFlow's copy
    return Interpreter(model_path=str(path)).get_signature_runner()(**feeds)


def verify(folder: Path, files: tuple, encoder, step, sources: np.ndarray, batch) -> float:
    """Runs both exported models on `sources` and compares them with the Keras wrappers.

    Returns:
        The largest absolute difference over the states, the carried outputs and the logits.

    Raises:
        RunError: naming the difference, when it exceeds `TOLERANCE`.
    """
    expected = {k: np.asarray(v) for k, v in encoder(sources).items()}
    rows = [sources] if batch is None else [row[None] for row in sources]
    got = [_runtime_outputs(folder / files[0], {"source_ids": row}) for row in rows]
    worst = max(
        float(np.abs(np.concatenate([g[k] for g in got]) - v).max()) for k, v in expected.items()
    )
    feeds = {
        "token_ids": np.full(len(sources), BOS_ID, np.int32),
        **expected,
        "source_ids": sources,
    }
    feeds = {name: feeds[name] for name in step_inputs(step)}
    want = {k: np.asarray(v) for k, v in step(feeds).items()}
    got = _runtime_outputs(folder / files[1], feeds)
    worst = max(worst, *(float(np.abs(got[k] - v).max()) for k, v in want.items()))
    if not worst <= TOLERANCE:
        raise RunError(f"the exported models differ from the run's by {worst:.3g} (allowed: "
                       f"{TOLERANCE:g}); the export was not written")  # fmt: skip
    return worst


def _sample_sources(run, count: int = 8) -> np.ndarray:
    """A few sources of the lengths the run trained on (ids drawn over its symbols)."""
    longest = run.vocabs.source.max_source_len or 5
    rng = np.random.default_rng(0)
    sources = np.zeros((count, longest), np.int32)
    for row in range(count):
        length = 1 + row % longest
        sources[row, :length] = rng.integers(FIRST_SYMBOL_ID, run.vocabs.source.size, length)
    return sources[:, : max(1, longest)]


def work(cfg: DictConfig, checked: tuple) -> None:
    """The command, once its config is known good (`seq2seq.cli.command`).

    Args:
        cfg: the composed, validated `export` config.
        checked: what `validate_export` returned: the run's config and the folder to write.
    """
    run_cfg, output = checked
    run = load_run(cfg.run_dir)
    encoder = PortableEncoder(run.model)
    step = PortableStep(run.model, state_layout(run.model))
    exporter, batch = EXPORTERS[cfg.format]
    encoder_signature, step_signature = signatures(encoder, step, batch)
    files = PORTABLE_MODELS[cfg.format]
    with atomic_write(output) as folder:
        folder.mkdir()
        with _quiet_converters():
            exporter(encoder, folder / files[0], encoder_signature, cfg.quantize)
            exporter(step, folder / files[1], step_signature, cfg.quantize)
        difference = None
        if cfg.quantize == "none":
            difference = verify(folder, files, encoder, step, _sample_sources(run), batch)
        saved = manifest(run, cfg, run_cfg, step, files)
        for side, vocab in (("source", run.vocabs.source), ("target", run.vocabs.target)):
            if saved[side]["subword_model"]:
                (folder / saved[side]["subword_model"]).write_bytes(vocab.splitter.model_proto)
        (folder / PORTABLE_MANIFEST).write_text(
            json.dumps(saved, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        source = DECODER_SOURCE.read_text(encoding="utf-8")
        assert source.count(MANIFEST_LINE) == 1, "the decoder's manifest line moved"
        decoder = source.replace(MANIFEST_LINE, f"MANIFEST = {PORTABLE_MANIFEST!r}\n")
        (folder / PORTABLE_DECODER).write_text(decoder, encoding="utf-8")
    sizes = {name: (output / name).stat().st_size for name in files}
    checked_line = "" if difference is None else f"; outputs within {difference:.1g} of the run's"
    print(
        f"written: {output} ({', '.join(f'{n} {s / 1e6:.2f} MB' for n, s in sizes.items())}{checked_line})"
    )
    print(f"decode:  python {output / PORTABLE_DECODER} WORD ...")
