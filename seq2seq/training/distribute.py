"""Training across devices and machines with tf.distribute.

`trainer.strategy` picks one:

- `default`: one device, TensorFlow's default strategy;
- `mirrored`: `MirroredStrategy`, a replica on each device of this machine (its GPUs,
  or its CPU); Keras' `model.fit` runs it, with every callback;
- `multi_worker`: `MultiWorkerMirroredStrategy` over the machines that `TF_CONFIG`
  lists. Keras 3's `model.fit` cannot run it here (it fails converting a `PerReplica`
  value while building the model symbolically: keras-team/keras issue 20585), so this
  module runs the training steps itself, `strategy.run` on the same Keras model,
  optimizer and loss; the chief alone writes checkpoints, TensorBoard logs and the
  final model.
"""

import contextlib
import json
import logging
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from seq2seq.data import pipeline
from seq2seq.evaluation import length_bound
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.model.families import build_model
from seq2seq.training import checkpoints
from seq2seq.training.compile import make_loss, make_optimizer
from seq2seq.training.finish import Metrics, save_and_measure
from seq2seq_config.constraints import choices, dispatch_table
from seq2seq_config.errors import UserError
from seq2seq_config.run_dir import is_chief_process
from seq2seq_config.schema import TrainerConfig

log = logging.getLogger(__name__)


def _multi_worker() -> tf.distribute.Strategy:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster")
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not JSON ({error})") from error
    if not cluster:
        raise UserError(
            "trainer.strategy=multi_worker needs TF_CONFIG with the cluster and this "
            "worker's task (see the README's 'Distributed training')"
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


def fit_custom(
    model, optimizer, strategy, dataset, epochs, steps_per_epoch, on_epoch_end, loss=None
):
    """Trains `epochs` epochs of `steps_per_epoch` global batches from `dataset`.

    Args:
        model: a built Keras model, created under `strategy.scope()`.
        optimizer: a Keras optimizer, created under the same scope.
        strategy: the distribution strategy.
        dataset: global batches `(inputs, targets, weights)`; each worker builds the
            same one and `strategy` shards it by data.
        on_epoch_end: called as `on_epoch_end(epoch, mean_loss)` after each epoch.
        loss: the Keras loss (`compile.make_loss`); plain cross-entropy by default.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    iterator = iter(strategy.experimental_distribute_dataset(dataset.with_options(options)))
    loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_step = make_train_step(model, optimizer, strategy, loss)
    for epoch in range(epochs):
        total = 0.0
        for _ in range(steps_per_epoch):
            total += float(train_step(iterator))
        on_epoch_end(epoch, total / steps_per_epoch)


def fit_multi_worker(cfg, run_dir: Path, task_data, strategy, facts: dict) -> Metrics:
    """Trains under MultiWorkerMirroredStrategy with the steps of `fit_custom`.

    Every worker trains; the chief alone writes each epoch's loss to TensorBoard, a
    checkpoint each epoch, and at the end the model, its export and the metrics, with
    `facts` in run.json.

    Returns:
        The final metrics (measured by every worker, written by the chief).
    """
    trainer = cfg.trainer
    chief = is_chief_process(cfg)
    steps_per_epoch = pipeline.steps_per_epoch(task_data.train, trainer.batch_size)
    with strategy.scope():
        model = build_model(cfg.model, *task_data.vocabs.model_sizes())
        optimizer = make_optimizer(trainer, steps_per_epoch * trainer.epochs)
    writer = None
    if chief:
        writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / "train"))

    def on_epoch_end(epoch, loss):
        log.info("Epoch %d/%d - loss: %.4f", epoch + 1, trainer.epochs, loss)
        if chief:
            with writer.as_default(step=epoch):
                tf.summary.scalar("epoch_loss", loss)
            writer.flush()
            checkpoints.save(model, run_dir / "checkpoints", epoch + 1)

    steps_before = int(optimizer.iterations.numpy())
    start = time.perf_counter()
    fit_custom(
        model,
        optimizer,
        strategy,
        pipeline.training_dataset(
            task_data.train,
            trainer.batch_size,
            cfg.seed,
            0,
            trainer.epochs,
            trainer.group_by_length,
        ),  # fmt: skip
        trainer.epochs,
        steps_per_epoch,
        on_epoch_end,
        make_loss(trainer),
    )
    train_seconds = time.perf_counter() - start
    evaluator = Evaluator(
        model, trainer.batch_size, target_vocab=task_data.vocabs.target,
        bound=length_bound.load(run_dir),
    )  # fmt: skip
    if not chief:
        return {split: evaluator(task_data.split(split)) for split in ("val", "test")}
    record = {
        **facts,
        "strategy": trainer.strategy,
        "replicas": strategy.num_replicas_in_sync,
        "train_steps": int(optimizer.iterations.numpy()),
        "train_steps_this_process": int(optimizer.iterations.numpy()) - steps_before,
    }
    return save_and_measure(
        cfg, model, run_dir, task_data, evaluator, trainer.epochs, train_seconds, record
    )
