"""The run's TensorBoard callbacks: Keras' own, its scalars also written every few steps
and flushed each epoch, and this framework's text, images and HParams session."""

import keras
import tensorflow as tf

from seq2seq.config.schema import STEP_VALIDATION_SOURCES
from seq2seq.data.splits import Split
from seq2seq.decoding import length_bound
from seq2seq.decoding.strategies import greedy_decode
from seq2seq.logs import tensorboard_images, tensorboard_summaries
from seq2seq.weights.ema import averaged

#: About how many points of the training figures each epoch adds to the step-level
#: curves (`batch_*`): the default run's 313 steps an epoch write one every 15 steps,
#: its two epochs a curve of 40 points, where the per-epoch charts hold two; TensorBoard
#: leaves a chart of so few points empty or cut (it scales to the 5th..95th percentile).
STEP_POINTS_PER_EPOCH = 20


def step_frequency(steps_per_epoch: int | None) -> int:
    """Every how many optimizer steps the training figures are written: about
    STEP_POINTS_PER_EPOCH times an epoch, at every step of a shorter epoch."""
    return max(1, (steps_per_epoch or 0) // STEP_POINTS_PER_EPOCH)


def optimizer_step(epoch: int, batch: int, steps_per_epoch: int) -> int:
    """The optimizer steps taken once the batch hook of `batch` (0-based, in `epoch`) runs.

    `batch` is the last step the call ran (several under steps_per_execution), past the
    epoch's end when its last call was cut short: the steps taken are at most all.
    """
    return epoch * steps_per_epoch + min(batch + 1, steps_per_epoch)


class TensorBoardExtras(keras.callbacks.Callback):
    """Writes the run's config, HParams session, decoded samples and state images.

    Args:
        writer: a summary writer on the run's `tensorboard/` directory.
        start: the config's text, hyperparameters and trial name, written when a run starts
            (`tensorboard_summaries.run_start`).
        vocabs: the vocabularies, to show tokens as symbols.
        split: where the samples come from (the validation split).
        samples: how many decoded samples to show after each epoch; 0 shows none.
        images: whether to draw h and c heatmaps (and attention weights) after each epoch.
        first_epoch: the epoch training starts from (later than 0 when resuming).
        bound: how far the samples decode (the run's length bound, as validation).
    """

    def __init__(
        self, writer, start: tensorboard_summaries.RunStart, vocabs, split: Split, samples,
        images, first_epoch=0, bound: length_bound.LengthBound | None = None,
    ):  # fmt: skip
        super().__init__()
        self.bound = length_bound.DEFAULT if bound is None else bound
        self.first_epoch = first_epoch
        self.writer = writer
        self.start = start
        self.vocabs = vocabs
        self.split = split
        self.samples = samples
        self.images = images

    def on_train_begin(self, logs=None):
        if self.first_epoch == 0:  # a resumed run wrote these when it started
            tensorboard_summaries.write_run_start(self.writer, self.start)

    def on_epoch_end(self, epoch, logs=None):
        with self.writer.as_default(step=epoch):
            if self.samples:
                self._write_samples()
            if self.images:
                self._write_images()
        self.writer.flush()

    def _write_samples(self):
        sources = self.split.source_ids[: self.samples]
        targets = self.split.target_ids[: self.samples]
        decoded, _ = length_bound.bounded(
            lambda ids, max_len: greedy_decode(self.model, ids, max_len), sources, self.bound
        )
        decoded = decoded.numpy()
        table = tensorboard_summaries.samples_table(self.vocabs, sources, targets, decoded)
        tf.summary.text("decoded_samples", table)

    def _write_images(self):
        source, target = self.split.source_ids[0], self.split.target_ids[0]
        tf.summary.image(
            "states", tensorboard_images.states_image(self.model, self.vocabs, source, target)
        )
        if hasattr(self.model, "attention_weights"):
            image = tensorboard_images.attention_image(self.model, self.vocabs, source, target)
            tf.summary.image("attention", image)


class FlushingTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, its epoch's summaries flushed to disk at once, and the
    training figures also written every `step_frequency` optimizer steps.

    Keras leaves the summaries buffered; a checkpoint saved after this callback must not
    outlive summaries that a kill would lose. Keras offers no public flush, so this reaches
    into the callback's private `_writers` and `_train_writer` (Keras 3.15);
    tests/training/test_callbacks.py fails if a Keras upgrade renames them.

    The step-level figures (`batch_loss`, `batch_token_accuracy`, `batch_exact_match`:
    the epoch's running means so far, as the progress bar shows them) go to `train/` at
    the count of optimizer steps taken, resumed runs included. Not Keras'
    `update_freq=N`, which writes the same tags but counts calls of the batch hook (one
    per `steps_per_execution` steps), starts again at 0 in each `fit` (a resumed run
    would write over its first steps), and leaves its `record_if` on past the epoch's last
    batch: unless the epoch's steps were a multiple of N it silently dropped every
    summary of the epoch's end, Keras' own epoch scalars included.
    """

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.steps_per_epoch = self.params.get("steps")
        self.every = step_frequency(self.steps_per_epoch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self.epoch = epoch
        self.last_step = epoch * (self.steps_per_epoch or 0)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if not self.steps_per_epoch or not isinstance(logs, dict):
            return
        step = optimizer_step(self.epoch, batch, self.steps_per_epoch)
        if step // self.every > self.last_step // self.every:
            with self._train_writer.as_default(step=step):
                for name, value in logs.items():
                    tf.summary.scalar(f"batch_{name}", value)
        self.last_step = step

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        for writer in self._writers.values():
            writer.flush()


#: The evaluator's figures not written by the step-level validation: `truncated` counts
#: outputs, so a subset's count does not read on the scale of the epoch's.
_NOT_STEP_FIGURES = ("truncated",)


class StepValidation(keras.callbacks.Callback):
    """The validation figures a few times an epoch, for TensorBoard's charts only.

    The first `STEP_VALIDATION_SOURCES` validation sources are decoded by the run's own
    evaluator (greedy, to the run's length bound: the figures mean what the epoch's mean)
    `points_per_epoch` times an epoch, the last at its last step, and every figure but
    `truncated` is written to `validation/` as `batch_<name>` at the optimizer step, the
    counterpart of the training's `batch_*` curves. A run of two epochs draws a
    validation curve of several points, where its per-epoch charts hold two, which
    TensorBoard's outlier scaling leaves empty. Early stopping, the plateau decay, the
    checkpoints and the `epoch_*` figures never see these: they are the whole split's
    (`GreedyValidation`). Resuming drops them past the checkpoint as it drops every
    `batch_*` tag (`tensorboard_rewind`).

    They go through Keras' own writer of `validation/` (its private `_val_writer`, as
    `FlushingTensorBoard` reads `_train_writer`; tests/training/test_callbacks.py fails if
    Keras moves it): a second writer would start a second event file there, and
    TensorBoard's directory watcher stops reading a file once a newer one appears. Put this callback
    after the FlushingTensorBoard, which flushes that writer at each epoch's end, before
    the checkpoint is written.

    Args:
        evaluator: the run's evaluator (the one `GreedyValidation` measures with).
        split: the validation split.
        points_per_epoch: how many times an epoch (`logging.validation_points_per_epoch`;
            0: never); at every step of an epoch of fewer steps.
        tensorboard: the run's `FlushingTensorBoard`.
    """

    def __init__(self, evaluator, split: Split, points_per_epoch: int, tensorboard):
        super().__init__()
        self.evaluator = evaluator
        self.subset = split.head(STEP_VALIDATION_SOURCES)
        self.points_per_epoch = points_per_epoch
        self.tensorboard = tensorboard
        self.epoch = self.taken = 0

    def on_train_begin(self, logs=None):
        self.steps_per_epoch = self.params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.taken = epoch, 0

    def on_train_batch_end(self, batch, logs=None):
        points, steps = self.points_per_epoch, self.steps_per_epoch
        if not points or not steps:
            return
        step = optimizer_step(self.epoch, batch, steps)
        taken = step - self.epoch * steps
        # At the steps where the epoch's share of `points` crosses a whole number: about
        # each 1/points of the epoch (steps 79, 157, 235, 313 of 313 for 4), its last step
        # included, so the curve reaches the end of training.
        if taken * points // steps > self.taken * points // steps:
            self._write(step)
        self.taken = taken

    def _write(self, step: int) -> None:
        with averaged(self.model):  # what the epoch's validation reads (ema.py)
            figures = self.evaluator(self.subset)
        with self.tensorboard._val_writer.as_default(step=step):
            for name, value in figures.items():
                if name not in _NOT_STEP_FIGURES and isinstance(value, float):
                    tf.summary.scalar(f"batch_{name}", value)
