"""End to end: `train.py` writes a whole run directory, its TensorBoard scalars and progress,
and held-out exact-match decodes without the target."""

import json
import re
import shlex
import sys

import forked
import numpy as np
import pytest
import tensorflow as tf
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from conftest import ROOT, TINY, run_script
from seq2seq import compose_config
from seq2seq.config.schema import METRICS
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.text.vocabulary import EOS_ID, PAD_ID

#: What the step-level validation writes to `validation/` (every figure but `truncated`).
STEP_VALIDATION = [f"batch_{name}" for name in sorted(METRICS)]

METRIC_KEYS = {
    "loss", "token_accuracy", "exact_match", "truncated", "token_error_rate", "bleu", "chrf",
    "exact_match_any", "token_error_rate_any",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_dir):
    """One tiny run of `python train.py`, two epochs, shared by the tests below."""
    run_dir = tmp_path_factory.mktemp("run")
    result = run_script(
        "train.py", *TINY, "trainer.epochs=2", "trainer.progress_seconds=0.001",
        "logging.validation_points_per_epoch=2", f"data_dir={data_dir}", f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def test_run_directory_holds_everything(tiny_run):
    run_dir, _ = tiny_run
    for name in (
        "config.yaml",
        "overrides.yaml",
        "model.keras",
        "metrics.json",
        "vocab.json",
        "length_bound.json",
        "run.json",
    ):
        assert (run_dir / name).exists(), name
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["epoch-001.weights.h5", "epoch-002.weights.h5", "latest.json"]
    assert json.loads((run_dir / "checkpoints" / "latest.json").read_text())["epoch"] == 2


def test_metrics_json_is_nested_by_split(tiny_run):
    metrics = json.loads((tiny_run[0] / "metrics.json").read_text())
    assert set(metrics) == {"val", "test"}
    for split in metrics.values():
        assert set(split) == METRIC_KEYS
        assert 0.0 <= split["token_accuracy"] <= 1.0 and 0.0 <= split["exact_match"] <= 1.0
        assert split["loss"] > 0


def test_saved_config_is_resolved_and_has_the_overrides(tiny_run):
    config = yaml.safe_load((tiny_run[0] / "config.yaml").read_text())
    assert config["task"]["train_size"] == 256 and config["trainer"]["epochs"] == 2
    assert "${" not in (tiny_run[0] / "config.yaml").read_text()


def scalars(directory):
    events = EventAccumulator(str(directory))
    events.Reload()
    values = {
        tag: [tf.make_ndarray(e.tensor_proto) for e in events.Tensors(tag)]
        for tag in events.Tags()["tensors"]
    }
    # Scalars only (histograms share the directory).
    return {tag: [float(v) for v in vs] for tag, vs in values.items() if vs[0].ndim == 0}


def test_tensorboard_events_hold_the_scalars(tiny_run):
    run_dir, _ = tiny_run
    train = scalars(run_dir / "tensorboard" / "train")
    validation = scalars(run_dir / "tensorboard" / "validation")
    assert set(train) >= {
        "epoch_loss",
        "epoch_token_accuracy",
        "epoch_exact_match",
        "epoch_learning_rate",
    }
    assert set(validation) >= {
        "epoch_loss", "epoch_token_accuracy", "epoch_exact_match",
        "epoch_token_error_rate", "epoch_bleu", "epoch_chrf",
    }  # fmt: skip
    per_epoch = [v for tag, v in [*train.items(), *validation.items()] if tag.startswith("epoch_")]
    assert all(len(values) == 2 for values in per_epoch)
    # The training figures every few optimizer steps too (4 steps an epoch: each one),
    # at the count of steps taken, so that a short run draws a curve.
    events = EventAccumulator(str(run_dir / "tensorboard" / "train"))
    events.Reload()
    validation_events = EventAccumulator(str(run_dir / "tensorboard" / "validation"))
    validation_events.Reload()
    for tag in ("batch_loss", "batch_token_accuracy", "batch_exact_match"):
        assert [e.step for e in events.Tensors(tag)] == list(range(1, 9)), tag
    # The validation figures twice an epoch (logging.validation_points_per_epoch=2), at the
    # optimizer step; each epoch's last, at its end, on the first 256 sources, here the
    # whole split of 32: the epoch's own figures, by the same evaluator. No count of
    # truncated outputs (a subset's count is not on the epoch's scale).
    steps = {tag: [e.step for e in validation_events.Tensors(tag)] for tag in STEP_VALIDATION}
    assert steps == {tag: [2, 4, 6, 8] for tag in STEP_VALIDATION}
    for name in ("exact_match", "token_error_rate", "bleu", "chrf", "loss"):
        at_epoch_ends = validation[f"batch_{name}"][1::2]
        assert at_epoch_ends == pytest.approx(validation[f"epoch_{name}"], rel=1e-6), name
    assert "batch_truncated" not in validation
    # The cosine schedule decays the learning rate from its configured value.
    assert train["epoch_learning_rate"][0] <= 0.01 and np.diff(train["epoch_learning_rate"]) < 0


def test_hparams_names_the_run_by_its_overrides(tiny_run):
    run_dir, _ = tiny_run
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    (start,) = events.Tensors("_hparams_/session_start_info")
    content = events.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    # The command line's hyperparameters as typed; not data_dir, logging.* or the directory.
    expected = [o for o in TINY if not o.startswith("logging.")]
    expected += ["trainer.epochs=2", "trainer.progress_seconds=0.001"]
    assert info.group_name == ",".join(expected) and start.step == 0


def test_progress_is_shown_per_epoch(tiny_run):
    _, result = tiny_run
    assert "Epoch 1/2" in result.stdout and "Epoch 2/2" in result.stdout
    assert "val_exact_match" in result.stdout


def test_train_log_holds_every_epoch_and_lines_during_it_which_stdout_shows(tiny_run):
    run_dir, result = tiny_run
    log = (run_dir / "train.log").read_text().splitlines()
    for epoch in (1, 2):
        (line,) = [line for line in log if f"- Epoch {epoch}/2 - loss: " in line and "val_" in line]
        for figure in ("val_loss: ", "val_exact_match: ", "val_bleu: ", "learning_rate: "):
            assert figure in line, line
        assert re.search(r" - \d+\.\d s \([\d.]+ steps/s\)$", line), line
        during = [line for line in log if f"- Epoch {epoch}/2 - step " in line]
        assert during, log
        assert all(re.search(r"step [1-4]/4 - loss: [\d.]+ - [\d.]+ steps/s - \d+:\d\d left$", line)
                   for line in during), during  # fmt: skip
    # Keras' bar is off on a pipe: what stdout shows of the epochs is the log's lines.
    shown = [line for line in result.stdout.splitlines() if "Epoch 1/2" in line]
    assert shown == [line for line in log if "Epoch 1/2" in line]


def first_test_source(data_dir) -> str:
    task_data, _ = load_task_data(compose_config([*TINY, f"data_dir={data_dir}"]).task, 0, data_dir)
    return task_data.vocabs.source.decode_text(task_data.test.source_ids[0])


def test_the_run_ends_saying_where_it_is_its_figure_and_the_commands(tiny_run, data_dir):
    run_dir, result = tiny_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    kept = json.loads((run_dir / "run.json").read_text())["final_epoch"]
    end = result.stdout[result.stdout.index("Finished: ") :].splitlines()
    val, test = metrics["val"]["exact_match"], metrics["test"]["exact_match"]
    assert end[:4] == [
        f"Finished: {run_dir}",
        f"  kept:      epoch {kept} of 2: val/exact_match {val:.4f}, test/exact_match "
        f"{test:.4f} (every figure: metrics.json)",
        f"  evaluate:  python -m seq2seq.evaluate run_dir={run_dir}",
        f"  predict:   python -m seq2seq.predict run_dir={run_dir} input=\"'{first_test_source(data_dir)}'\"",
    ]
    assert end[4].startswith(f"  serve:     {run_dir}/saved_model/1, a SavedModel: docker run")
    assert end[5] == f"  fine-tune: python {ROOT / 'train.py'} " + " ".join(
        [*TINY, "trainer.epochs=2", "trainer.progress_seconds=0.001",
         "logging.validation_points_per_epoch=2", f"data_dir={data_dir}",
         f"trainer.init_from={run_dir}"]
    )  # fmt: skip
    assert end[6:] == []
    assert "final metrics:" not in result.stdout  # the JSON line it replaces


@pytest.mark.slow
def test_the_predict_command_the_run_ends_with_runs_as_printed(tiny_run):
    run_dir, result = tiny_run
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("  predict:")]
    python, *command = shlex.split(line.removeprefix("  predict:"))
    assert python == "python"
    done = forked.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.splitlines()) == 1, done.stdout


def test_run_json_says_which_precision_ran_and_why(tiny_run):
    """TINY sets float32; auto, measured, in tests/training/test_precision_choice.py."""
    from seq2seq.machine.hardware import choose_precision, cpu_flags

    run_dir, result = tiny_run
    record = json.loads((run_dir / "run.json").read_text())
    expected = choose_precision("float32", cpu_flags(), gpu=False)
    assert (record["precision"], record["precision_reason"]) == expected
    assert record["precision_measured"] is None
    assert f"Precision: {expected.name} ({expected.reason})" in result.stderr + result.stdout


def test_final_validation_metrics_match_the_kept_epoch_logs(tiny_run):
    run_dir, _ = tiny_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    kept = json.loads((run_dir / "run.json").read_text())["final_epoch"] - 1
    validation = scalars(run_dir / "tensorboard" / "validation")
    assert len(validation["epoch_loss"]) == 2
    assert np.isclose(validation["epoch_exact_match"][kept], metrics["val"]["exact_match"])
    assert np.isclose(validation["epoch_loss"][kept], metrics["val"]["loss"], rtol=1e-5)


class TeacherForcedCheat:
    """Perfect under teacher forcing, useless alone.

    From the decoder's input (BOS, then the target) it reads off the next token, so
    its teacher-forced logits are always right; decoding on its own, it can only say EOS.
    """

    def __call__(self, x, training=False):
        decoder_ids = x["decoder_token_ids"]
        following = tf.concat([decoder_ids[:, 1:], tf.zeros_like(decoder_ids[:, :1])], axis=1)
        ends = tf.logical_and(tf.equal(following, PAD_ID), tf.not_equal(decoder_ids, PAD_ID))
        return tf.one_hot(tf.where(ends, EOS_ID, following), 8) * 10.0

    def encode(self, encoder_token_ids, training=False):
        return tf.shape(encoder_token_ids)[0]

    def initial_decoder_state(self, encoded):
        return tf.zeros([encoded])

    def decode_step(self, token_ids, state, encoded):
        return tf.one_hot(tf.fill(tf.shape(token_ids), EOS_ID), 8) * 10.0, state


def test_held_out_exact_match_decodes_greedily_never_from_the_target(tiny_cfg):
    cfg = tiny_cfg()
    task_data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    metrics = Evaluator(TeacherForcedCheat(), batch_size=64)(task_data.val)
    assert metrics["token_accuracy"] == 1.0
    assert metrics["exact_match"] == 0.0
