"""The `serve` signature's contract: ids out of range and padding inside a row are refused
with a clear error; a row of padding decodes to nothing; empty input gives empty output."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq import build_model
from seq2seq.serving.export import export_saved_model
from seq2seq_config import compose_config

SYMBOLS = 6  # token ids 0 .. 8: PAD, BOS, EOS and six symbols


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = build_model(
        compose_config(["model.units=8", "model.embedding_dim=4"]).model, SYMBOLS + 3
    )
    path = tmp_path_factory.mktemp("export") / "saved_model"
    export_saved_model(model, path)
    signature = tf.saved_model.load(str(path)).signatures["serve"]
    return lambda ids: signature(symbol_ids=tf.constant(ids, tf.int32, shape=np.shape(ids)))[
        "symbol_ids"
    ].numpy()


@pytest.mark.parametrize(
    "ids,message",
    [
        ([[1, 2, SYMBOLS]], f"allowed: symbol ids 0 .. {SYMBOLS - 1}, or -1"),
        ([[1, -2, 3]], "allowed: -1 (padding) or a symbol id >= 0"),
        ([[1, -1, 3]], "padding (-1) only at the end of a row"),
        ([[-1, 2, 3]], "padding (-1) only at the end of a row"),
    ],
)
def test_ids_outside_the_contract_are_refused_saying_what_is_allowed(serve, ids, message):
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        serve(ids)


def test_a_row_of_padding_decodes_to_nothing(serve):
    out = serve([[3, 1, 4], [-1, -1, -1]])
    assert out.shape == (2, 8)
    assert (out[1] == -1).all()
    assert out[0].max() >= 0  # the other row decodes as usual


@pytest.mark.parametrize("shape", [(0, 5), (3, 0), (0, 0)])
def test_empty_input_gives_empty_output(serve, shape):
    out = serve(np.zeros(shape, np.int32))
    assert out.shape == (shape[0], 0)


def test_padding_only_rows_make_an_empty_output(serve):
    assert serve([[-1, -1], [-1, -1]]).shape == (2, 0)
