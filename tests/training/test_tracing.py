"""What a run spends on building graphs: the training step traced once (the optimizer's
variables made at compile time, not inside the first trace, which made TensorFlow trace it
twice), the framework's own graphs (validation, predict's and score's decoding, the
training data's batches) built without autograph converting their Python source, and each
SavedModel endpoint traced once (Keras' ExportArchive traced each twice)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.autograph.pyct import transpiler
from tensorflow.python.eager.polymorphic_function import tracing_compilation

from seq2seq import build_model, compose_config
from seq2seq.data import pipeline
from seq2seq.data.splits import Split
from seq2seq.decoding.length_bound import LengthBound
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.evaluation.scoring import score_pairs
from seq2seq.serving.export import export_saved_model
from seq2seq.text.vocabulary import EOS_ID, PAD_ID, Vocabularies, Vocabulary
from seq2seq.training.compile import compile_model

VOCAB = 9


def tiny_model(*overrides):
    cfg = compose_config(["model.units=8", "model.embedding_dim=4", *overrides])
    keras.utils.set_random_seed(0)
    model = build_model(cfg.model, VOCAB)
    compile_model(model, cfg.trainer, total_steps=10)
    return model, cfg


def tiny_split(rows=6):
    rng = np.random.default_rng(0)
    sources = rng.integers(3, VOCAB, (rows, 4)).astype(np.int32)
    targets = np.concatenate([sources[:, ::-1], np.full((rows, 1), PAD_ID, np.int32)], 1)
    return Split(sources, targets)


@pytest.fixture
def traced(monkeypatch):
    """The names of the functions TensorFlow traces while the test runs, one per trace."""
    names = []
    create = tracing_compilation._create_concrete_function

    def recording(function_type, type_context, func_graph, tracing_options):
        names.append(tracing_options.name)
        return create(function_type, type_context, func_graph, tracing_options)

    monkeypatch.setattr(tracing_compilation, "_create_concrete_function", recording)
    return names


@pytest.mark.slow  # it trains
@pytest.mark.parametrize("overrides", [(), ("trainer.ema_momentum=0.9",)], ids=["plain", "ema"])
def test_the_optimizer_is_built_at_compile_and_the_step_is_traced_once(overrides, traced):
    model, cfg = tiny_model(*overrides)
    assert model.optimizer.built
    before = [v.path for v in model.optimizer.variables]
    batches = pipeline.EpochBatches(tiny_split(), 3, 0, False, None)
    model.fit(batches.dataset, epochs=1, callbacks=[batches], verbose=0)
    assert [v.path for v in model.optimizer.variables] == before
    assert int(model.optimizer.iterations) == 2
    assert traced.count("one_step_on_data") == 1


@pytest.fixture
def converted(monkeypatch):
    """The names of the functions autograph converts while the test runs."""
    names = []
    transform = transpiler.GenericTranspiler.transform

    def recording(self, obj, user_context):
        names.append(getattr(obj, "__qualname__", repr(obj)))
        return transform(self, obj, user_context)

    monkeypatch.setattr(transpiler.GenericTranspiler, "transform", recording)
    return names


def test_validation_decoding_and_the_data_are_built_without_autograph(converted):
    model, _ = tiny_model()
    split = tiny_split()
    Evaluator(model, 4, bound=LengthBound.fixed(6))(split)
    decoding = compose_config(["run_dir=unused"], config_name="predict").decoding
    decode_sequences(model, [list(row) for row in split.source_ids], decoding, 4)
    score_pairs(model, [[3, 4]], [[4, 3, EOS_ID]], 4)
    batches = pipeline.EpochBatches(split, 3, 0, False, None)
    list(batches.dataset)
    assert converted == []


@pytest.mark.slow  # an export and a load: 2.5 s
def test_the_export_traces_each_endpoint_once_and_saves_the_variables_alone(tmp_path, traced):
    model, _ = tiny_model()
    vocab = Vocabulary(list("abcdef"), "char")
    export_saved_model(model, tmp_path / "saved", Vocabularies.shared(vocab))
    endpoints = sorted(name for name in traced if name.startswith("serve"))
    assert endpoints == ["serve", "serve_text", "serve_text_beam"]
    # The model's variables, as Keras' archive lists them, not its Keras objects.
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    assert len(loaded.variables) == len(model.variables)
    assert not hasattr(loaded.server, "model")
