"""The model: the design card's wiring against plain Keras, masking, argument checks,
reloading in a fresh process, and decoders started from zeros under bfloat16."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT
from seq2seq import Seq2Seq, build_model, compose_config, greedy_decode
from seq2seq.training.compile import dtype_policy

VOCAB = 9


def random_model(num_layers=1, units=12, embedding_dim=6, seed=0):
    keras.utils.set_random_seed(seed)
    cfg = compose_config(
        [
            f"model.num_layers={num_layers}",
            f"model.units={units}",
            f"model.embedding_dim={embedding_dim}",
        ]
    )
    model = build_model(cfg.model, VOCAB)
    # Non-zero biases and larger weights, so that every path visibly changes the logits.
    for weight in model.weights:
        weight.assign(np.random.default_rng(seed).normal(0, 0.5, weight.shape))
    return model


def batch(batch_size=3, source_len=5, target_len=4, seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(3, VOCAB, size=(batch_size, source_len)).astype(np.int32)
    source[0, 3:] = 0  # the first sequence is padded
    target = rng.integers(3, VOCAB, size=(batch_size, target_len)).astype(np.int32)
    target[:, 0] = 1
    return {"encoder_token_ids": source, "decoder_token_ids": target}


def test_logits_shape_covers_the_whole_vocabulary():
    logits = random_model()(batch(batch_size=3, source_len=5, target_len=4))
    assert tuple(logits.shape) == (3, 4, VOCAB)


def reference_model(model: Seq2Seq, num_layers: int):
    """The design card in plain Keras layers, holding `model`'s weights.

    Encoder layer k's [h, c] start decoder layer k; encoder layers below the top
    return sequences; one embedding serves both sides.
    """
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(VOCAB, model.options["embedding_dim"], mask_zero=True)
    x = embedding(source)
    states = []
    for k in range(num_layers):
        last = k == num_layers - 1
        lstm = keras.layers.LSTM(
            model.options["units"], return_sequences=not last, return_state=True
        )
        x, h, c = lstm(x)
        lstm.set_weights(model.encoder.rnns[k].get_weights())
        states.append([h, c])
    y = embedding(target)
    for k in range(num_layers):
        lstm = keras.layers.LSTM(model.options["units"], return_sequences=True)
        y = lstm(y, initial_state=states[k])
        lstm.set_weights(model.decoder.rnns[k].get_weights())
    dense = keras.layers.Dense(VOCAB)
    logits = dense(y)
    embedding.set_weights(model.embedding.get_weights())
    dense.set_weights(model.output_projection.get_weights())
    return keras.Model([source, target], logits)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_wiring_matches_a_plain_keras_reference(num_layers):
    model = random_model(num_layers=num_layers)
    reference = reference_model(model, num_layers)
    x = batch()
    expected = reference([x["encoder_token_ids"], x["decoder_token_ids"]])
    np.testing.assert_allclose(model(x), expected, atol=1e-5)
    # Lower encoder layers hand every step up; only the top returns the last.
    flags = [rnn.return_sequences for rnn in model.encoder.rnns]
    assert flags == [True] * (num_layers - 1) + [False]
    assert all(rnn.return_state for rnn in model.encoder.rnns + model.decoder.rnns)
    assert all(rnn.return_sequences for rnn in model.decoder.rnns)


def test_source_padding_changes_nothing():
    model = random_model(num_layers=2)
    x = batch()
    padded = dict(x, encoder_token_ids=np.pad(x["encoder_token_ids"], [[0, 0], [0, 4]]))
    np.testing.assert_allclose(model(x), model(padded), atol=1e-6)
    # Alone and unpadded, the padded first sequence gives the same logits too.
    alone = {
        "encoder_token_ids": x["encoder_token_ids"][:1, :3],
        "decoder_token_ids": x["decoder_token_ids"][:1],
    }
    np.testing.assert_allclose(model(alone)[0], model(x)[0], atol=1e-6)


def test_layers_refuse_impossible_arguments():
    with pytest.raises(ValueError, match="Received: units=0"):
        Seq2Seq(vocab_size=VOCAB, units=0)
    with pytest.raises(ValueError, match="Received: dropout=1.5"):
        Seq2Seq(vocab_size=VOCAB, dropout=1.5)


RELOAD = """
import sys, numpy as np, keras
import seq2seq
model = keras.saving.load_model(sys.argv[1])
x = dict(np.load(sys.argv[2]))
np.save(sys.argv[3], np.asarray(model(x)))
print(type(model).__name__)
"""


@pytest.mark.slow  # a second Python process; test-fast reloads in-process (tests/serving)
def test_saved_model_reloads_in_a_fresh_process_with_the_same_logits(tmp_path):
    model = random_model(num_layers=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = batch()
    path = tmp_path / "model.keras"
    model.save(path)
    np.savez(tmp_path / "x.npz", **x)
    result = subprocess.run(
        [sys.executable, "-c", RELOAD, str(path), str(tmp_path / "x.npz"), str(tmp_path / "y.npy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Seq2Seq"
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(x), atol=1e-6)


@pytest.mark.parametrize("overrides", [["model.bridge=zeros"], ["model=repeat_vector"]])
def test_decoders_started_from_zeros_decode_under_bfloat16(overrides):
    """The zeros handed to the decoder take the layer's compute dtype: a float32 zero
    state would change dtype in the decoding loop under a mixed policy."""
    cfg = compose_config(["model.units=8", "model.embedding_dim=4", *overrides])
    with dtype_policy("mixed_bfloat16"):
        model = build_model(cfg.model, VOCAB)
        graph = tf.function(lambda ids: greedy_decode(model, ids, 4))  # as the evaluator runs it
        decoded = graph(tf.constant([[3, 4, 5]], tf.int32))
    assert decoded.shape == (1, 4)
