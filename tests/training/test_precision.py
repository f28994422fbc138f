"""trainer.precision and trainer.steps_per_execution: runs that use them train, save and reload,
and the process's dtype policy is left as it was; whatever the training precision, the model
decodes in float32 (`seq2seq.model.precision`)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq import build_model, greedy_decode, load_run, train
from seq2seq.model.precision import decodes_in_float32, for_decoding
from seq2seq.serving.finished_run import load_model
from seq2seq.training.compile import compile_model, dtype_policy
from seq2seq.training.finish import save_model


@pytest.mark.slow  # a whole run; test-fast builds and decodes under bfloat16 (tests/model)
def test_a_mixed_bfloat16_run_with_several_steps_per_call_trains_and_reloads(tiny_cfg, tmp_path):
    cfg = tiny_cfg(
        "trainer.precision=mixed_bfloat16", "trainer.steps_per_execution=3", "trainer.epochs=2"
    )
    metrics = train(cfg, run_dir=str(tmp_path / "run"))
    assert keras.config.dtype_policy().name == "float32"  # restored
    assert np.isfinite(metrics["test"]["loss"])
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["train_steps"] == 2 * 4  # 256 sequences in batches of 64, twice
    # The weights are float32 under a mixed policy; the reloaded model computes in float32.
    run = load_run(tmp_path / "run")
    assert run.model.encoder.rnns[0].compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in run.model.weights)


def test_under_mixed_bfloat16_the_layers_compute_in_bfloat16_and_the_logits_in_float32(tiny_cfg):
    cfg = tiny_cfg("trainer.precision=mixed_bfloat16")
    with dtype_policy(cfg.trainer.precision):
        model = build_model(cfg.model, 8)
    assert model.encoder.rnns[0].compute_dtype == "bfloat16"
    assert model.output_projection.compute_dtype == "float32"


def test_mixed_float16_scales_the_loss(tiny_cfg):
    cfg = tiny_cfg("trainer.precision=mixed_float16")
    with dtype_policy(cfg.trainer.precision):
        model = build_model(cfg.model, 8)
        compile_model(model, cfg.trainer, total_steps=10)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.decoder.rnns[0].compute_dtype == "float16"


@pytest.mark.parametrize("name", ["lstm", "attention"])
def test_a_mixed_model_decodes_through_a_float32_copy_with_its_very_weights(tiny_cfg, name):
    """`for_decoding`: what every command decodes with computes in float32 and holds the
    trained weights bit for bit; a float32 model is used as it is."""
    cfg = tiny_cfg("trainer.precision=mixed_bfloat16", f"model={name}")
    with dtype_policy(cfg.trainer.precision):
        mixed = build_model(cfg.model, 8)
    for weight in mixed.weights:  # not the initializer's: a copy that rebuilt would differ
        weight.assign(np.random.default_rng(0).normal(0, 0.5, weight.shape))
    assert not decodes_in_float32(mixed)
    copy = for_decoding(mixed)
    assert decodes_in_float32(copy) and copy.dtype_policy.name == "float32"
    assert copy.encoder.rnns[0].compute_dtype == "float32"
    assert type(copy) is type(mixed) and copy.get_config()["units"] == 16
    for original, copied in zip(mixed.weights, copy.weights, strict=True):
        np.testing.assert_array_equal(original.numpy(), copied.numpy())
    ids = tf.constant([[3, 4, 5, 0], [5, 6, 7, 6]], tf.int32)
    # The copy decodes as a model built in float32 with the same weights does.
    native = build_model(cfg.model, 8)
    native.set_weights(mixed.get_weights())
    assert (
        greedy_decode(copy, ids, 6).numpy().tolist()
        == greedy_decode(native, ids, 6).numpy().tolist()
    )
    assert for_decoding(native) is native
    assert keras.config.dtype_policy().name == "float32"  # restored


def test_a_saved_mixed_model_loads_in_float32_under_any_policy(tiny_cfg, tmp_path):
    """`load_run`'s model (`finished_run.load_model`) computes in float32 for a model.keras
    saved in mixed precision (runs saved before decoding was float32), even when the caller
    runs under a mixed policy (a fine-tuned run loading its parent)."""
    cfg = tiny_cfg("trainer.precision=mixed_bfloat16")
    with dtype_policy(cfg.trainer.precision):
        mixed = build_model(cfg.model, 8)
        save_model(mixed, tmp_path / "model.keras")
        loaded = load_model(tmp_path / "model.keras")
        assert keras.config.dtype_policy().name == "mixed_bfloat16"  # the caller's, kept
    assert decodes_in_float32(loaded) and loaded.decoder.rnns[0].compute_dtype == "float32"
    for original, copied in zip(mixed.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(original.numpy(), copied.numpy())
