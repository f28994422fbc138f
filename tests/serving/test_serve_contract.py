"""The `serve` signature's contract: ids out of range and padding inside a row are refused
with a clear error; a row of padding decodes to nothing; empty input gives empty output;
each row decodes to its own length bound and `truncated` says which were cut short."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq import build_model, compose_config
from seq2seq.decoding import length_bound
from seq2seq.decoding.length_bound import LengthBound
from seq2seq.decoding.strategies import greedy_decode
from seq2seq.serving.export import export_saved_model, tokens_to_symbols
from seq2seq.text.vocabulary import EOS_ID, FIRST_SYMBOL_ID

SYMBOLS = 6  # token ids 0 .. 8: PAD, BOS, EOS and six symbols


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = build_model(
        compose_config(["model.units=8", "model.embedding_dim=4"]).model, SYMBOLS + FIRST_SYMBOL_ID
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


BOUND = LengthBound.linear(1, 0, "test")  # as many tokens as the source has


@pytest.fixture(scope="module")
def serve_bounded(tmp_path_factory):
    """`serve` of an untrained model exported with `BOUND`, and the model."""
    keras.utils.set_random_seed(0)
    model = build_model(
        compose_config(["model.units=8", "model.embedding_dim=4"]).model, SYMBOLS + FIRST_SYMBOL_ID
    )
    path = tmp_path_factory.mktemp("bounded") / "saved_model"
    export_saved_model(model, path, bound=BOUND)
    signature = tf.saved_model.load(str(path)).signatures["serve"]

    def call(ids):
        out = signature(symbol_ids=tf.constant(ids, tf.int32, shape=np.shape(ids)))
        return out["symbol_ids"].numpy(), out["truncated"].numpy()

    return call, model


def test_each_row_decodes_to_its_own_bound_and_says_whether_it_was_cut(serve_bounded):
    serve, model = serve_bounded
    ids, truncated = serve([[3, 1, 4, 1], [2, -1, -1, -1], [-1, -1, -1, -1]])
    assert ids.shape == (3, 4)  # the longest row's bound
    assert (ids[1, 1:] == -1).all() and (ids[2] == -1).all()  # cut at 1; empty
    # What the model decodes in-process for the two sources, each to its own bound.
    tokens, cut = length_bound.bounded(
        lambda t, max_len: greedy_decode(model, t, max_len),
        tf.constant([[6, 4, 7, 4], [5, 0, 0, 0]]), BOUND,
    )  # fmt: skip
    np.testing.assert_array_equal(ids[:2], tokens_to_symbols(tokens))
    assert truncated.tolist() == [*cut.numpy().tolist(), False]  # an empty row is never cut
    assert cut.numpy()[1] == (tokens.numpy()[1, 0] != EOS_ID)
    _, none = serve(np.zeros((0, 3), np.int32))
    assert none.shape == (0,) and none.dtype == bool
