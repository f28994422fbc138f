"""trainer.precision and trainer.steps_per_execution: runs that use them train, save and reload,
and the process's dtype policy is left as it was."""

import json

import keras
import numpy as np
import pytest

from seq2seq import build_model, load_run, train
from seq2seq.training.compile import compile_model, dtype_policy


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
