"""Keras callbacks that give `model.fit` this framework's validation and TensorBoard views."""

import keras
import tensorflow as tf

from seq2seq import summaries
from seq2seq.decoding import greedy_decode
from seq2seq.evaluation import Evaluator
from seq2seq.tasks import Split


class GreedyValidation(keras.callbacks.Callback):
    """Adds `val_loss`, `val_token_accuracy` and `val_exact_match` to each epoch's logs.

    Keras' own validation would measure exact-match under teacher forcing; this one
    decodes greedily, as at inference. Place it before the callbacks that read the logs
    (checkpointing, TensorBoard).

    Args:
        evaluator: measures the model on a split.
        split: the validation split.
    """

    def __init__(self, evaluator: Evaluator, split: Split):
        super().__init__()
        self.evaluator = evaluator
        self.split = split

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for name, value in self.evaluator(self.split).items():
                logs[f"val_{name}"] = value


class TensorBoardExtras(keras.callbacks.Callback):
    """Writes the run's config, HParams session, decoded samples and state images.

    Args:
        writer: a summary writer on the run's `tensorboard/` directory.
        cfg: the run's resolved config.
        vocab: the vocabulary, to show tokens as symbols.
        split: where the samples come from (the validation split).
        samples: how many decoded samples to show after each epoch; 0 shows none.
        images: whether to draw h and c heatmaps (and attention weights) after each epoch.
        run_name: the run's name in the HParams dashboard.
    """

    def __init__(self, writer, cfg, vocab, split: Split, samples: int, images: bool, run_name: str):
        super().__init__()
        self.writer = writer
        self.cfg = cfg
        self.vocab = vocab
        self.split = split
        self.samples = samples
        self.images = images
        self.run_name = run_name

    def on_train_begin(self, logs=None):
        summaries.write_run_start(self.writer, self.cfg, self.run_name)

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
        decoded = greedy_decode(self.model, sources, targets.shape[1] + 1).numpy()
        table = summaries.samples_table(self.vocab, sources, targets, decoded)
        tf.summary.text("decoded_samples", table)

    def _write_images(self):
        source, target = self.split.source_ids[0], self.split.target_ids[0]
        tf.summary.image("states", summaries.states_image(self.model, self.vocab, source, target))
        if hasattr(self.model, "attention_weights"):
            image = summaries.attention_image(self.model, self.vocab, source, target)
            tf.summary.image("attention", image)
