"""Training across devices and machines with tf.distribute.

`trainer.strategy` picks one:

- `default`: one device, TensorFlow's default strategy;
- `mirrored`: `MirroredStrategy`, a replica on each device of this machine (its GPUs,
  or its CPU); Keras' `model.fit` runs it, with every callback;
- `multi_worker`: `MultiWorkerMirroredStrategy` over the machines that `TF_CONFIG`
  lists. Keras 3's `model.fit` cannot run it here (it fails converting a `PerReplica`
  value while building the model symbolically: keras-team/keras issue 20585), so this
  module runs the training steps itself, `strategy.run` on the same compiled Keras
  model, optimizer and loss, over the same `TrainingRun` (`run.py`) as `fit`. The chief
  drives the run's callbacks as `fit` would (validation, early stopping, TensorBoard,
  checkpoints kept or pruned) and alone writes files; early stopping's decision and its
  best epoch reach the other workers by an all-reduce (`broadcast_from_chief`), so that
  every worker stops at the same epoch and keeps the same weights.
"""

import contextlib
import json
import logging
import os

import keras
import tensorflow as tf

from seq2seq.base.errors import UserError
from seq2seq.base.names import CHECKPOINTS_DIR
from seq2seq.config.constraints import choices, dispatch_table
from seq2seq.config.schema import TrainerConfig
from seq2seq.data import pipeline
from seq2seq.logs.progress import ProgressLog
from seq2seq.training.callbacks import StopOnNonFiniteLoss
from seq2seq.training.finish import Metrics, Trained

log = logging.getLogger(__name__)


def _multi_worker() -> tf.distribute.Strategy:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster")
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not JSON ({error})") from error
    if not cluster:
        raise UserError(
            "trainer.strategy=multi_worker needs TF_CONFIG with the cluster and this "
            "worker's task (see docs/distributed.md)"
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


#: How each `trainer.strategy` is made.
DISTRIBUTION_STRATEGIES = dispatch_table(
    "trainer.strategy",
    choices(TrainerConfig, "strategy"),
    {
        "default": tf.distribute.get_strategy,
        "mirrored": tf.distribute.MirroredStrategy,
        "multi_worker": _multi_worker,
    },
)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy `trainer.strategy` names; create it before any other TensorFlow op.

    Raises:
        UserError: for `multi_worker` without a TF_CONFIG that lists a cluster.
    """
    return DISTRIBUTION_STRATEGIES[name]()


def scope(strategy: tf.distribute.Strategy):
    """Where to build the model and optimizer: the strategy's scope, or none for the default.

    Entering even the default strategy's scope made `fit` about 15% slower on a CPU
    (measured: 2 epochs of the default run, 39.6 s without it, 45.0 s with it).
    """
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return contextlib.nullcontext()
    return strategy.scope()


def masked_loss(loss, targets, logits, weights, global_weight):
    """The loss summed over this replica's real tokens, over all replicas' count.

    Summed across replicas (as the optimizer sums gradients) it is the mean over every
    real token of the global batch, which is what `model.fit` minimizes on one device.

    Args:
        loss: the run's Keras loss (`compile.make_loss`); its `call` gives each token's.
    """
    per_token = loss.call(targets, logits)
    return tf.reduce_sum(per_token * weights) / global_weight


def make_train_step(model, optimizer, strategy, loss):
    """One distributed training step: returns the global batch's mean loss."""

    def replica_step(x, y, weights):
        weights = tf.cast(weights, tf.float32)
        global_weight = tf.distribute.get_replica_context().all_reduce(
            "sum", tf.reduce_sum(weights)
        )
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            value = masked_loss(loss, y, logits, weights, global_weight)
        gradients = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return value

    @tf.function
    def train_step(iterator):
        x, y, weights = next(iterator)
        losses = strategy.run(replica_step, args=(x, y, weights))
        return strategy.reduce("sum", losses, axis=None)

    return train_step


def make_all_reduce(strategy):
    """A function that sums a float32 vector over every replica of every worker."""

    @tf.function
    def all_reduce(value):
        # As the training step reduces its loss: each replica's copy, summed across workers.
        return strategy.reduce("sum", strategy.run(tf.identity, args=(value,)), axis=None)

    return all_reduce


def broadcast_from_chief(all_reduce, chief: bool, values: list) -> list:
    """The chief's `values` (small integers) on every worker, through `all_reduce`: the
    chief's replicas give the values and a 1, the others zeros, and the sum's values over
    its count are the chief's, however many replicas each worker runs."""
    share = [*values, 1.0] if chief else [0.0] * (len(values) + 1)
    summed = all_reduce(tf.constant(share, tf.float32)).numpy()
    return [round(float(v) / float(summed[-1])) for v in summed[:-1]]


def _train_epochs(run, callbacks, dataset, steps_per_epoch: int) -> tuple:
    """Trains epoch by epoch until `trainer.epochs` or early stopping on the chief.

    Returns:
        Epochs trained, and the best epoch (counted from 1) with its weights as this
        worker holds them in memory (None, None without early stopping).
    """
    model, strategy, trainer = run.model, run.strategy, run.trainer
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    iterator = iter(strategy.experimental_distribute_dataset(dataset.with_options(options)))
    train_step = make_train_step(model, model.optimizer, strategy, model.loss)
    all_reduce = make_all_reduce(strategy)
    watching = trainer.early_stopping.monitor != "off"
    best_epoch = best_weights = None
    model.stop_training = False
    callbacks.on_train_begin()
    for epoch in range(trainer.epochs):
        callbacks.on_epoch_begin(epoch)
        total = 0.0
        for step in range(steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            loss = float(train_step(iterator))
            total += loss
            callbacks.on_train_batch_end(step, {"loss": loss})
        logs = {"loss": total / steps_per_epoch}
        # The chief's: validation, ..., the epoch's line (ProgressLog), checkpoint.
        callbacks.on_epoch_end(epoch, logs)
        chief_best = run.best.best_epoch if run.chief and run.best is not None else -1
        stop, chief_best = broadcast_from_chief(
            all_reduce, run.chief, [float(model.stop_training), float(chief_best)]
        )
        if watching and chief_best == epoch:
            best_epoch, best_weights = epoch + 1, model.get_weights()
        if stop:
            break
    callbacks.on_train_end()
    return epoch + 1, best_epoch, best_weights


def fit_multi_worker(run) -> Metrics:
    """Trains a `TrainingRun` under MultiWorkerMirroredStrategy with `make_train_step`.

    Every worker trains; the chief runs the run's callbacks (other workers only stop on
    a non-finite loss) and alone writes checkpoints, TensorBoard logs and, at the end,
    the model, its export and the metrics. Every worker keeps the best epoch's weights
    in memory, so no worker reads another's files: the workers need no shared disk.

    Returns:
        The final metrics (measured by every worker, written by the chief).
    """
    trainer = run.trainer
    steps_per_epoch = trainer.steps_per_epoch or pipeline.steps_per_epoch(
        run.task_data.train, trainer.batch_size
    )
    run.build(total_steps=steps_per_epoch * trainer.epochs)
    if run.chief:
        run.start_early_stopping()
        callbacks = run.callbacks()
    else:
        callbacks = [
            StopOnNonFiniteLoss(run.path / CHECKPOINTS_DIR),
            ProgressLog(trainer.progress_seconds),
        ]
    # The params `fit` gives its callbacks, which ProgressLog reads.
    callbacks = keras.callbacks.CallbackList(
        callbacks, model=run.model, epochs=trainer.epochs, steps=steps_per_epoch
    )
    dataset = pipeline.training_dataset(
        run.task_data.train, trainer.batch_size, run.seed, 0, trainer.epochs,
        trainer.group_by_length, steps_per_epoch,
    )  # fmt: skip

    def loop() -> Trained:
        epochs_done, best_epoch, best_weights = _train_epochs(
            run, callbacks, dataset, steps_per_epoch
        )
        # The best epoch's weights, when they are not the ones the model holds.
        kept = best_weights if best_epoch is not None and best_epoch != epochs_done else None
        return Trained(epochs_done, kept)

    return run.train(loop)
