"""`train(cfg)`: one training run, from a validated config to a finished run directory."""

import json
import logging
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import keras
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import tensorflow as tf

from seq2seq import data, summaries, tasks
from seq2seq.callbacks import GreedyValidation, TensorBoardExtras
from seq2seq.evaluation import Evaluator
from seq2seq.export import export_saved_model
from seq2seq.metrics import ExactMatch, token_accuracy
from seq2seq.model import build_model
from seq2seq_config import validate

log = logging.getLogger(__name__)

Metrics = Dict[str, Dict[str, float]]


def make_optimizer(trainer_cfg, total_steps: int) -> keras.optimizers.Optimizer:
    """The optimizer named in the `trainer` config, with its schedule and clipping.

    Args:
        trainer_cfg: the `trainer` config group.
        total_steps: optimizer steps in the whole run, over which a schedule decays.
    """
    learning_rate = trainer_cfg.learning_rate
    if trainer_cfg.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    return keras.optimizers.get(
        {
            "class_name": trainer_cfg.optimizer,
            "config": {"learning_rate": learning_rate, "clipnorm": trainer_cfg.clipnorm},
        }
    )


def compile_model(model: keras.Model, trainer_cfg, total_steps: int) -> None:
    """Compiles with masked cross-entropy: the mean over real target tokens only."""
    model.compile(
        optimizer=make_optimizer(trainer_cfg, total_steps),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        # Weighted, so that the padding mask passed as sample weight applies.
        weighted_metrics=[token_accuracy(), ExactMatch()],
    )


def _display_name(run_dir: Path) -> str:
    """The run directory relative to the working directory when inside it, as users see it."""
    try:
        return str(run_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(run_dir)


def _run_dir(run_dir: Optional[str]) -> Path:
    if run_dir is not None:
        return Path(run_dir)
    return Path(HydraConfig.get().runtime.output_dir)


def train(cfg: DictConfig, run_dir: Optional[str] = None) -> Metrics:
    """Trains a model as `cfg` says and saves everything into the run directory.

    Args:
        cfg: the composed `train` config.
        run_dir: where to write; by default Hydra's output directory of this run.

    Returns:
        `{"val": {...}, "test": {...}}`, each with loss, token_accuracy and exact_match.

    Raises:
        seq2seq_config.ConfigError: if a config value is not allowed.
    """
    validate(cfg)
    run_dir = _run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    keras.utils.set_random_seed(cfg.seed)

    task_data, data_path = tasks.load_or_generate(cfg.task, cfg.seed, cfg.data_dir)
    task_data.vocab.save(run_dir / "vocab.json")
    log.info("Data: %s; run directory: %s", data_path, run_dir)

    trainer = cfg.trainer
    steps_per_epoch = data.steps_per_epoch(task_data.train, trainer.batch_size)
    model = build_model(cfg.model, task_data.vocab.size)
    compile_model(model, trainer, total_steps=steps_per_epoch * trainer.epochs)
    evaluator = Evaluator(model, trainer.batch_size)
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard"))
    logging_cfg = cfg.logging
    callbacks = [
        GreedyValidation(evaluator, task_data.val),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / "checkpoints" / "epoch-{epoch:03d}.weights.h5"),
            save_weights_only=True,
        ),
        TensorBoardExtras(
            writer,
            cfg,
            task_data.vocab,
            task_data.val,
            samples=logging_cfg.samples,
            images=logging_cfg.images,
            run_name=_display_name(run_dir),
        ),
        keras.callbacks.TensorBoard(
            str(run_dir / "tensorboard"),
            histogram_freq=logging_cfg.histogram_freq,
            write_graph=False,
        ),
    ]
    start = time.perf_counter()
    model.fit(
        data.training_dataset(task_data.train, trainer.batch_size, cfg.seed, 0, trainer.epochs),
        epochs=trainer.epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles, per epoch, from the seed
        # A progress bar in a terminal; one line per epoch in logs, where Keras' bar
        # would print every update.
        verbose=1 if sys.stdout.isatty() else 2,
    )
    train_seconds = time.perf_counter() - start
    model.save(run_dir / "model.keras")
    export_saved_model(model, run_dir / "saved_model")

    metrics = {split: evaluator(task_data.split(split)) for split in ("val", "test")}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    writer.close()
    summaries.write_final_metrics(run_dir / "tensorboard", metrics, step=trainer.epochs)
    run = {
        "status": "completed",
        "train_seconds": round(train_seconds, 2),
        "train_steps": steps_per_epoch * trainer.epochs,
        "train_sequences_per_second": round(len(task_data.train) * trainer.epochs / train_seconds),
    }
    (run_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    log.info("Trained in %.1f s; final metrics: %s", train_seconds, json.dumps(metrics))
    return metrics
