"""`seq2seq-export`: a run's encoder and decoder step for ONNX Runtime and LiteRT, and the
decoder script written beside them, which prints what `predict` prints (greedy and beam
n-best) in an environment that holds NumPy and the runtimes but neither TensorFlow nor this
package; int8 weights; a subword run's pieces; every refusal in one line."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_pairs
from seq2seq import compose_config, predict
from seq2seq.base.names import PORTABLE_DECODER, PORTABLE_MANIFEST
from seq2seq.export import main as export_main

#: The runs exported: every family, and GRU and RNN cells, bidirectional, bridges, layers.
FAMILIES = {
    "lstm": [],
    "attention": ["model=attention"],
    "repeat_vector": ["model=repeat_vector"],
    "gru_bidirectional_dense_2": [
        "model.cell=gru",
        "model.bidirectional=true",
        "model.bridge=dense",
        "model.num_layers=2",
    ],  # fmt: skip
    "rnn_bidirectional_concat_bahdanau": [
        "model=attention",
        "model.attention=bahdanau",
        "model.cell=rnn",
        "model.bidirectional=true",
        "model.bridge=concat",
        "model.decoder_units=32",
    ],  # fmt: skip
}
#: Inputs of the tiny task (symbols 0 .. 4, lengths 2 .. 5).
INPUTS = ["3 4", "4 3 2 1", "0 1 2 3 4", "2 2", "1 0 3", "4 4 4 4 4", "0 2"]
#: The packages the decoder's environment holds: NumPy, the two runtimes, SentencePiece.
RUNTIME_PACKAGES = ("numpy", "onnxruntime", "ai_edge_litert", "sentencepiece")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_run):
    """`trained(name)`: the module's copy of the tiny run of `FAMILIES[name]` (the `lstm`
    and `attention` ones other files read too: conftest's `tiny_run`)."""
    runs = {}

    def train(name: str) -> Path:
        if name not in runs:
            runs[name] = tmp_path_factory.mktemp(name) / "run"
            tiny_run(runs[name], *FAMILIES[name])
        return runs[name]

    return train


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory) -> Path:
    """A Python whose path holds the runtime packages alone: a fresh virtual environment
    (no pip, no network) with a `.pth` naming a folder of links to those packages of the
    test's environment (and NumPy's bundled libraries), so that TensorFlow, Keras and this
    package, installed beside them, stay out."""
    base = tmp_path_factory.mktemp("runtime_env")
    links = base / "packages"
    links.mkdir()
    for name in RUNTIME_PACKAGES:
        folder = Path(importlib.util.find_spec(name).origin).parent
        (links / name).symlink_to(folder)
        bundled = folder.with_name(f"{name}.libs")  # NumPy's OpenBLAS, where the wheel has it
        if bundled.is_dir():
            (links / bundled.name).symlink_to(bundled)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "runtime_packages.pth").write_text(f"{links}\n")
    return python


def export(run_dir: Path, *args: str) -> Path:
    """Exports in-process; returns the folder the command names."""
    assert export_main([f"run_dir={run_dir}", *args]) == 0
    quantized = "_int8" if "quantize=int8" in args else ""
    fmt = next((a.split("=", 1)[1] for a in args if a.startswith("format=")), "onnx")
    return run_dir / f"{fmt}{quantized}"


def decode(python: Path, folder: Path, *args: str, inputs=INPUTS) -> subprocess.CompletedProcess:
    """decode.py as a user runs it: its own path, from a directory outside the checkout."""
    return subprocess.run(
        [python, folder / PORTABLE_DECODER, *args, *inputs],
        cwd=folder.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


#: What predict printed, by (run, overrides, inputs): a family's ONNX and LiteRT tests
#: hold their decoders to the same three outputs of a run that does not change, and each
#: predict loads the run and traces its search again (about 1.5 s each on 2 cores).
_PREDICTED = {}


def predicted(run_dir: Path, capsys, *overrides: str, inputs=INPUTS) -> str:
    """What predict prints for `inputs` (from a file, as a user would give many)."""
    key = (str(run_dir), overrides, tuple(inputs))
    if key not in _PREDICTED:
        path = run_dir.parent / "inputs.txt"
        path.write_text("".join(line + "\n" for line in inputs))
        capsys.readouterr()
        assert predict.main([f"run_dir={run_dir}", f"input_file={path}", *overrides]) == 0
        _PREDICTED[key] = capsys.readouterr().out
    return _PREDICTED[key]


def assert_same_outputs(decoded: str, expected: str) -> None:
    """The same lines; an n-best line's log-probability within one unit of its 4th decimal
    (float32 logits of two runtimes may round either way there), the rest exactly."""
    got, want = decoded.splitlines(), expected.splitlines()
    assert len(got) == len(want), (decoded, expected)
    for line, reference in zip(got, want):
        fields, reference_fields = line.split("\t"), reference.split("\t")
        if len(fields) == 4:
            assert abs(float(fields[2]) - float(reference_fields[2])) <= 1.5e-4, (line, reference)
            fields[2] = reference_fields[2]
        assert fields == reference_fields, (line, reference)


def check_parity(run_dir, folder, python, capsys):
    greedy = decode(python, folder)
    assert greedy.returncode == 0, greedy.stderr
    assert_same_outputs(greedy.stdout, predicted(run_dir, capsys))
    n_best = decode(python, folder, "--decoding", "beam", "--n-best", "5")
    assert n_best.returncode == 0, n_best.stderr
    assert_same_outputs(
        n_best.stdout, predicted(run_dir, capsys, "decoding=beam", "decoding.n_best=5")
    )
    beam = decode(
        python,
        folder,
        "--decoding",
        "beam",
        "--beam-size",
        "3",
        "--n-best",
        "3",
        "--length-penalty",
        "2",
    )
    assert beam.returncode == 0, beam.stderr
    expected = predicted(
        run_dir,
        capsys,
        "decoding=beam",
        "decoding.beam_size=3",
        "decoding.n_best=3",
        "decoding.length_penalty=2",
    )
    assert_same_outputs(beam.stdout, expected)


def test_the_decoders_environment_holds_the_runtimes_but_not_tensorflow_nor_this_package(
    runtime_python,
):
    code = (
        "import importlib.util as u\n"
        "print([m for m in ('tensorflow', 'keras', 'seq2seq') if u.find_spec(m)])\n"
        "import numpy, onnxruntime\nfrom ai_edge_litert.interpreter import Interpreter\n"
    )
    result = subprocess.run([runtime_python, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# The decoders against predict, and the decoder's refusals, only under make test (about
# 10 s of make test-fast's worker time on 2 cores); the export's refusals stay in it.
@pytest.mark.slow
def test_the_onnx_decoder_prints_what_predict_prints(trained, runtime_python, capsys):
    run_dir = trained("lstm")
    folder = export(run_dir, "format=onnx")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["decoder_step.onnx", "encoder.onnx", PORTABLE_DECODER, PORTABLE_MANIFEST]
    )
    check_parity(run_dir, folder, runtime_python, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in FAMILIES if name != "lstm"])
def test_every_family_exports_to_onnx_and_decodes_as_predict(name, trained, runtime_python, capsys):
    run_dir = trained(name)
    check_parity(run_dir, export(run_dir, "format=onnx"), runtime_python, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_exports_to_litert_and_decodes_as_predict(
    name, trained, runtime_python, capsys
):
    run_dir = trained(name)
    folder = export(run_dir, "format=litert")
    assert json.loads((folder / PORTABLE_MANIFEST).read_text())["encoder"]["batch"] == 1
    check_parity(run_dir, folder, runtime_python, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_int8_weights_export_and_decode(fmt, trained, runtime_python):
    run_dir = trained("attention")
    folder = export(run_dir, f"format={fmt}", "quantize=int8")
    assert folder.name == f"{fmt}_int8"
    assert json.loads((folder / PORTABLE_MANIFEST).read_text())["quantize"] == "int8"
    if fmt == "onnx":
        import onnx

        model = onnx.load(folder / "encoder.onnx")
        int8 = [t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
        assert int8, "no int8 weights in the quantized encoder"
    result = decode(runtime_python, folder, "--decoding", "beam", "--n-best", "2")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2 * len(INPUTS)


@pytest.mark.slow
def test_a_subword_run_ships_its_sentencepiece_model_and_decodes_as_predict(
    tmp_path_factory, runtime_python, capsys
):
    import seq2seq

    root = tmp_path_factory.mktemp("subword")
    path = write_pairs(root / "pairs.tsv", 300)
    cfg = compose_config(["task=tsv", f"task.path={path}", "task.val_size=10", "task.test_size=10",
                          "task.tokenizer=subword", "task.source_vocab_size=40",
                          "task.target_vocab_size=40", "task.normalize=lower", "model.units=16",
                          "model.embedding_dim=8", "trainer.epochs=1", "logging.images=false",
                          "logging.samples=0", "logging.histogram_freq=0",
                          "trainer.precision=float32", f"data_dir={root}"])  # fmt: skip
    run_dir = root / "run"
    seq2seq.train(cfg, run_dir=str(run_dir))
    folder = export(run_dir, "format=onnx")
    assert {"source.spm.model", "target.spm.model"} <= {p.name for p in folder.iterdir()}
    inputs = ["A b c d", "h g f e", "b a d c"]  # upper case: normalized as predict does
    result = decode(runtime_python, folder, "--decoding", "beam", "--n-best", "3", inputs=inputs)
    assert result.returncode == 0, result.stderr
    expected = predicted(run_dir, capsys, "decoding=beam", "decoding.n_best=3", inputs=inputs)
    assert_same_outputs(result.stdout, expected)


@pytest.mark.slow
def test_bad_input_to_the_decoder_is_refused_in_one_line(trained, runtime_python):
    folder = trained("lstm") / "onnx"
    if not folder.is_dir():
        export(trained("lstm"), "format=onnx")
    cases = {
        ("7",): "error: input line 1, position 1: '7' is not a symbol of the vocabulary; "
        "allowed: the numbers 0 .. 4",
        ("1 2 3 4 0 1",): "error: input line 1 has 6 symbols; the model takes at most 5 (its "
        "training lengths); pass --max-input-len 6 to decode it anyway",
        (" ",): "error: input line 1 is empty; allowed: symbols separated by spaces",
        ("--n-best", "2", "1 2"): "error: --n-best, --beam-size, --length-penalty: allowed "
        "with --decoding beam",
        ("--decoding", "beam", "--n-best", "6", "1 2"): "error: --n-best 6: allowed: at most "
        "--beam-size (5)",
        ("--batch-size", "0", "1 2"): "error: argument --batch-size: '0': allowed: an integer >= 1",
        ("--model", str(folder.parent), "1 2"): f"error: --model {folder.parent}: no "
        f"{PORTABLE_MANIFEST} there; allowed: an export's folder",
        (): "error: give the inputs as arguments or --input-file PATH, one of the two",
    }
    for args, line in cases.items():
        result = decode(runtime_python, folder, *args, inputs=[])
        assert (result.returncode, result.stderr.splitlines(), result.stdout) == (2, [line], ""), (
            args
        )
    longer = decode(runtime_python, folder, "--max-input-len", "6", inputs=["1 2 3 4 0 1"])
    assert longer.returncode == 0 and len(longer.stdout.splitlines()) == 1, longer.stderr


@pytest.mark.slow
def test_a_wrong_export_is_refused_before_tensorflow_loads(trained, tmp_path):
    run_dir = trained("lstm")
    cases = {
        (f"run_dir={tmp_path}",): "no finished run there",
        (f"run_dir={run_dir}", "format=tflite"): "error: format='tflite': allowed: onnx, litert",
        (f"run_dir={run_dir}", "quantize=int4"): "error: quantize='int4': allowed: none, int8",
        (
            f"run_dir={run_dir}",
            "max_input_symbols=0",
        ): "error: max_input_symbols=0: must be an integer >= 1",
        (f"run_dir={run_dir}", f"output_dir={tmp_path / 'no' / 'such'}"): "cannot be written in",
    }
    for args, shown in cases.items():
        code = (
            "import sys\nfrom seq2seq.export import main\n"
            f"try:\n    main({list(args)!r})\nexcept SystemExit as stop:\n    assert stop.code == 2, stop.code\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow loaded'\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and shown in result.stderr, (
            result.stderr
        )


@pytest.mark.slow
def test_an_existing_folder_that_is_no_export_is_never_replaced(trained, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(SystemExit) as stop:
        export_main([f"run_dir={trained('lstm')}", f"output_dir={mine}"])
    assert stop.value.code == 2
    assert "exists and is not an earlier export" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep"


@pytest.mark.slow  # an ONNX export (about 1.5 s)
def test_an_export_that_computes_otherwise_is_refused_and_not_written(
    trained, tmp_path, monkeypatch, capsys
):
    from seq2seq.serving import portable_export

    real = portable_export._runtime_outputs

    def off_by_a_little(path, feeds):
        return {name: value + 1e-3 for name, value in real(path, feeds).items()}

    monkeypatch.setattr(portable_export, "_runtime_outputs", off_by_a_little)
    with pytest.raises(SystemExit) as stop:
        export_main([f"run_dir={trained('lstm')}", f"output_dir={tmp_path / 'out'}"])
    assert stop.value.code == 1
    assert "the exported models differ from the run's by 0.001" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _decoder_module():
    """The decoder's source, imported as a module (it needs no manifest to be imported)."""
    from seq2seq.serving import portable_decode

    return portable_decode


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_the_decoders_searches_are_seq2seqs_on_a_step_whose_hypotheses_end_apart(alpha):
    # A made-up step whose rows end at different lengths, so that the length penalty and
    # finished beams matter (a tiny trained run's hypotheses all reach the bound).
    import numpy as np
    import tensorflow as tf

    from seq2seq.decoding.beam_search import beam_search_n_best
    from seq2seq.decoding.strategies import greedy_search

    rng = np.random.default_rng(int(alpha * 10))
    vocab, batch, k, max_len = 9, 4, 4, 7
    table = rng.normal(size=(vocab, vocab)).astype(np.float32) * 2
    table[:, 2] += np.linspace(-1, 2, vocab, dtype=np.float32)  # EOS likelier after some tokens
    start = rng.normal(size=(batch, vocab)).astype(np.float32)

    def numpy_step(tokens, states, carried):
        (state,) = states
        logits = table[tokens] + state
        return logits, [(0.5 * state + logits / 4).astype(np.float32)]

    def tf_step(tokens, state):
        logits = tf.gather(table, tokens) + state
        return logits, 0.5 * state + logits / 4

    module = _decoder_module()
    decoder = object.__new__(module.Decoder)
    decoder._step = numpy_step
    decoder.target = type("Target", (), {"tokens": ["t"] * vocab})()
    ids, scores = decoder.beam([start], {}, batch, max_len, k, alpha, k)
    want_ids, want_scores = beam_search_n_best(
        tf_step, tf.constant(start), batch, max_len, k, alpha, k
    )
    assert ids.tolist() == want_ids.numpy().tolist()
    np.testing.assert_allclose(scores, want_scores.numpy(), atol=1e-5)
    ends = {int((h == 2).argmax()) for row in ids for h in row if 2 in h}
    assert len(ends) > 1, ends  # hypotheses of several lengths
    greedy = decoder.greedy([start], {}, batch, max_len)[:, 0]
    assert (
        greedy.tolist()
        == greedy_search(tf_step, tf.constant(start), batch, max_len).numpy().tolist()
    )
