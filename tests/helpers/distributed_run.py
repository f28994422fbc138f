"""Runs `train` in this process under a strategy, for tests/training/test_distribute.py.

    python tests/helpers/distributed_run.py WEIGHTS_OUT LOGICAL_CPUS OVERRIDE ...

Splits the CPU into LOGICAL_CPUS logical devices (for MirroredStrategy), trains with the
overrides, and saves the model's weights to WEIGHTS_OUT (.npz): right after `fit`, or
under multi_worker the weights each worker kept at the end (the best epoch's, with early
stopping), so that the test can compare the workers of a multi-worker run; there, beside
it, WEIGHTS_OUT with the suffix .json: the optimizer steps the worker took.
"""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

weights_out, logical_cpus, *overrides = sys.argv[1:]
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * int(logical_cpus)
)

import seq2seq  # noqa: E402
from seq2seq import compose_config  # noqa: E402
from seq2seq.training import distribute  # noqa: E402


def save_weights(model):
    np.savez(weights_out, *[np.asarray(w) for w in model.get_weights()])


fit_multi_worker = distribute.fit_multi_worker


def fit_multi_worker_then_save(run):
    metrics = fit_multi_worker(run)
    save_weights(run.model)  # the weights the run kept: the best epoch's
    steps = int(run.model.optimizer.iterations.numpy())  # the steps this worker took
    Path(weights_out).with_suffix(".json").write_text(json.dumps({"train_steps": steps}))
    return metrics


class SaveAfterFit(__import__("keras").callbacks.Callback):
    def on_train_end(self, logs=None):
        save_weights(self.model)


# multi_worker takes no callbacks of the caller's (train refuses them).
distribute.fit_multi_worker = fit_multi_worker_then_save
cfg = compose_config(overrides)
run_dir = next(o.split("=", 1)[1] for o in overrides if o.startswith("hydra.run.dir="))
extra = [] if cfg.trainer.strategy == "multi_worker" else [SaveAfterFit()]
seq2seq.train(cfg, run_dir=run_dir, callbacks=extra)
