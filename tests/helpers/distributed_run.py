"""Runs `train` in this process under a strategy, for tests/training/test_distribute.py.

    python tests/helpers/distributed_run.py WEIGHTS_OUT LOGICAL_CPUS OVERRIDE ...

Splits the CPU into LOGICAL_CPUS logical devices (for MirroredStrategy), trains with the
overrides, and saves the model's weights right after the training steps to WEIGHTS_OUT
(.npz), so that the test can compare the workers of a multi-worker run.
"""

import sys

import numpy as np
import tensorflow as tf

weights_out, logical_cpus, *overrides = sys.argv[1:]
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * int(logical_cpus)
)

import seq2seq  # noqa: E402
from seq2seq.training import distribute  # noqa: E402
from seq2seq_config import compose_config  # noqa: E402


def save_weights(model):
    np.savez(weights_out, *[np.asarray(w) for w in model.get_weights()])


fit_custom = distribute.fit_custom


def fit_custom_then_save(model, *args, **kwargs):
    fit_custom(model, *args, **kwargs)
    save_weights(model)


class SaveAfterFit(__import__("keras").callbacks.Callback):
    def on_train_end(self, logs=None):
        save_weights(self.model)


distribute.fit_custom = fit_custom_then_save
cfg = compose_config(overrides)
run_dir = next(o.split("=", 1)[1] for o in overrides if o.startswith("hydra.run.dir="))
seq2seq.train(cfg, run_dir=run_dir, callbacks=[SaveAfterFit()])
