"""trainer.xla: the training step compiled by XLA with op determinism on, batches padded to
a few lengths, the fused LSTM's loop bounded, refusals, and exact resume under XLA."""

import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import seq2seq
from conftest import InterruptAtEpoch
from seq2seq import ConfigError, build_model, compose_config, validate
from seq2seq.base.errors import Interrupted
from seq2seq.data.batching import bucket_width
from seq2seq.data.pipeline import EpochBatches
from seq2seq.data.splits import Split
from seq2seq.machine.xla import choose_xla, compile_with_xla
from seq2seq.model.fused_lstm import FusedLSTM
from seq2seq.training.compile import compile_model


def _xla_functions(model) -> list:
    """The functions of the model's traced training step that XLA must compile.

    Reaches into Keras 3.15's `make_train_function`: the function it returns closes over
    the traced `multi_step_on_iterator`, whose graph calls `one_step_on_data`, marked
    `_XlaMustCompile` when Keras compiles it with XLA.
    """
    (traced,) = [
        cell.cell_contents
        for cell in model.train_function.__closure__
        if hasattr(cell.cell_contents, "_list_all_concrete_functions")
    ]
    return [
        function.signature.name
        for concrete in traced._list_all_concrete_functions()
        for function in concrete.graph.as_graph_def().library.function
        if function.attr["_XlaMustCompile"].b
    ]


def _one_step(model) -> None:
    x = {
        "encoder_token_ids": np.full((4, 5), 4, np.int32),
        "decoder_token_ids": np.full((4, 6), 4, np.int32),
    }
    y = np.full((4, 6), 4, np.int32)
    model.fit(x, y, sample_weight=np.ones((4, 6), np.float32), epochs=1, verbose=0)


@pytest.mark.slow
@pytest.mark.parametrize("xla", [False, True])
def test_the_training_step_is_compiled_by_xla_under_op_determinism(xla):
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()  # as `train` runs
    cfg = compose_config(["model.units=8", "model.embedding_dim=4"])
    model = build_model(cfg.model, 12, 12)
    compile_model(model, cfg.trainer, total_steps=2)
    with warnings.catch_warnings(record=True):
        # Why compile_with_xla exists: Keras drops the flag under op determinism.
        model.jit_compile = True
    assert model.jit_compile is False
    if xla:
        compile_with_xla(model)
    _one_step(model)
    assert model.jit_compile is xla
    assert bool(_xla_functions(model)) is xla


def test_the_fused_lstm_loop_compiles_with_xla_at_an_unknown_length():
    # The loop an unknown length takes (batches of a generator have no static length)
    # under the gradient: XLA needs its step lists bounded.
    keras.utils.set_random_seed(0)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")  # the fused loop's dtype
    try:
        layer = FusedLSTM(8, return_sequences=True, return_state=True)
        x = tf.random.normal((3, 5, 4))
        layer(x)
    finally:
        keras.config.set_dtype_policy(previous)

    @tf.function(jit_compile=True, input_signature=[tf.TensorSpec((None, None, 4))])
    def gradients(x):
        with tf.GradientTape() as tape:
            outputs, _, _ = layer(x)
            loss = tf.reduce_sum(tf.cast(outputs, tf.float32))
        return tape.gradient(loss, layer.trainable_variables)

    compiled = [g.numpy() for g in gradients(x)]
    assert [g.shape for g in compiled] == [(4, 32), (8, 32), (32,)]
    assert all(np.isfinite(g).all() and np.abs(g).sum() > 0 for g in compiled)


@pytest.mark.parametrize(
    "width, longest, expected",
    [(1, 20, 5), (5, 20, 5), (6, 20, 10), (16, 20, 20), (20, 20, 20), (3, 3, 3), (7, 5, 7)],
)
def test_a_batch_side_is_padded_to_one_of_four_lengths(width, longest, expected):
    assert bucket_width(width, longest) == expected


@pytest.mark.parametrize("bucketed", [False, True])
def test_bucketed_batches_take_a_few_shapes_and_keep_their_rows(bucketed):
    rng = np.random.default_rng(0)
    n, longest = 300, 20
    lengths = rng.integers(1, longest + 1, size=(2, n))
    source, target = (np.zeros((n, longest), np.int32) for _ in range(2))
    for ids, side in ((source, lengths[0]), (target, lengths[1])):
        for row, length in enumerate(side):
            ids[row, :length] = rng.integers(4, 9, size=length)
    batches = EpochBatches(Split(source, target), 16, 0, group_by_length=True, bucketed=bucketed)
    widths = set()
    real = 0
    for x, y, weight in batches.dataset:
        widths.add(x["encoder_token_ids"].shape[1])
        real += int(np.count_nonzero(x["encoder_token_ids"]))
        assert y.shape == weight.shape == x["decoder_token_ids"].shape
    assert real == lengths[0].sum()  # padding only: every real symbol is there once
    assert widths <= {5, 10, 15, 20} if bucketed else len(widths) > 4


@pytest.mark.parametrize("strategy", ["mirrored", "multi_worker"])
def test_xla_is_refused_where_the_step_is_not_keras_default(strategy):
    cfg = compose_config(["trainer.xla=true", f"trainer.strategy={strategy}"])
    with pytest.raises(
        ConfigError,
        match=rf"^trainer.xla=true: XLA compiles the step of trainer.strategy=default only, "
        rf"not {strategy}'s; allowed: false$",
    ):
        validate(cfg)


def test_xla_is_off_unless_asked_and_says_why():
    assert choose_xla(False).on is False and "trainer.xla=false" in choose_xla(False).reason
    assert choose_xla(True) == (True, "set by trainer.xla")


def _final_weights(run_dir):
    return keras.saving.load_model(run_dir / "model.keras").get_weights()


@pytest.mark.slow
def test_an_xla_run_interrupted_and_resumed_ends_with_the_uninterrupted_weights(tiny_cfg, tmp_path):
    # Grouped by length, so that the batches are padded to buckets: several compiled shapes.
    setting = (
        "trainer.xla=true", "trainer.group_by_length=true", "trainer.epochs=2",
        "trainer.early_stopping.monitor=off",
    )  # fmt: skip
    seq2seq.train(tiny_cfg(*setting), run_dir=str(tmp_path / "whole"))
    with pytest.raises(Interrupted):
        seq2seq.train(
            tiny_cfg(*setting), run_dir=str(tmp_path / "cut"), callbacks=[InterruptAtEpoch(1)]
        )
    seq2seq.train(tiny_cfg(*setting, "trainer.resume=true"), run_dir=str(tmp_path / "cut"))
    for a, b in zip(
        _final_weights(tmp_path / "whole"), _final_weights(tmp_path / "cut"), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    for run in ("whole", "cut"):
        record = json.loads((tmp_path / run / "run.json").read_text())
        assert (record["xla"], record["xla_reason"]) == (True, "set by trainer.xla")
