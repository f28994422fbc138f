"""TensorBoard: what a run writes, read back with TensorBoard's own reader and real server."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seq2seq
from seq2seq import compose_config
from seq2seq.logs import tensorboard_images, tensorboard_summaries
from seq2seq.logs.tensorboard_rewind import truncate_events
from seq2seq.text.vocabulary import EOS_ID, Vocabularies, Vocabulary

MONITORED = (
    "model=attention",
    "model.units=16",
    "model.embedding_dim=8",
    "trainer.epochs=2",
    "logging.samples=4",
    "logging.images=true",
    "logging.histogram_freq=1",
    "logging.validation_points_per_epoch=4",
)


@pytest.fixture(scope="module")
def monitored_run(tmp_path_factory, data_dir):
    """A tiny attention run with every TensorBoard view turned on."""
    from conftest import TINY
    from seq2seq import compose_config

    run_dir = tmp_path_factory.mktemp("monitored")
    # Early stopping off: the last epoch is the one kept, whose values the HParams
    # dashboard shows beside the final metrics.
    overrides = [*TINY, *MONITORED, "trainer.early_stopping.monitor=off"]
    cfg = compose_config([*overrides, f"data_dir={data_dir}"])
    seq2seq.train(cfg, run_dir=str(run_dir))
    return run_dir


def events(directory):
    accumulator = EventAccumulator(str(directory), size_guidance={"tensors": 0, "images": 0})
    accumulator.Reload()
    return accumulator


@pytest.mark.slow
def test_run_directory_holds_text_images_histograms_and_hparams(monitored_run):
    root = events(monitored_run / "tensorboard")
    tags = root.Tags()
    assert {"config", "decoded_samples", "states", "attention"} <= set(tags["tensors"])
    assert "_hparams_/session_start_info" in tags["tensors"]
    final = events(monitored_run / "tensorboard" / "final")
    assert {"val_exact_match", "test_exact_match", "test_loss"} <= set(final.Tags()["tensors"])
    # Samples and images after each of the two epochs.
    assert [e.step for e in root.Tensors("decoded_samples")] == [0, 1]
    assert [e.step for e in root.Tensors("states")] == [0, 1]
    config = tf.make_ndarray(root.Tensors("config")[0].tensor_proto).item().decode()
    assert "units: 16" in config and "name: attention" in config
    train = events(monitored_run / "tensorboard" / "train")
    histograms = [t for t in train.Tags()["tensors"] if t.endswith("/histogram")]
    assert any("encoder" in t for t in histograms) and any("decoder" in t for t in histograms)


def test_samples_table_shows_source_target_prediction_and_verdict():
    vocab = Vocabularies.shared(Vocabulary([str(i) for i in range(5)]))
    sources = np.array([[3, 4, 5], [6, 7, 0]])
    targets = np.array([[5, 4, 3], [7, 6, 0]])
    predictions = np.array([[5, 4, 3, EOS_ID], [7, 7, EOS_ID, 0]])
    table = tensorboard_summaries.samples_table(vocab, sources, targets, predictions)
    assert table.splitlines()[0] == "| source | target | prediction | right |"
    assert "| 0 1 2 | 2 1 0 | 2 1 0 | yes |" in table
    assert "| 3 4 | 4 3 | 4 4 | **no** |" in table


@pytest.mark.slow
def test_states_image_has_a_panel_per_state_of_every_layer(monitored_run):
    run = seq2seq.load_run(monitored_run)
    panels = tensorboard_images.layer_state_panels(
        run.model, np.array([[4, 5, 6, 0]]), np.array([[1, 6, 5, 4]])
    )
    titles = [title for title, _, _ in panels]
    assert titles == [
        "encoder layer 0: h",
        "encoder layer 0: c",
        "decoder layer 0: h",
        "decoder layer 0: c",
    ]
    # The encoder panels stop at the last real token; h over time is what the layer
    # returns with return_sequences=True.
    encoder_h = panels[0][2]
    assert encoder_h.shape == (3, 16)
    x = run.model.embedding(np.array([[4, 5, 6]]))
    twin = keras.layers.LSTM(16, return_sequences=True)  # the same weights, every step
    twin.build(x.shape)
    twin.set_weights(run.model.encoder.rnns[0].get_weights())
    np.testing.assert_allclose(encoder_h, np.asarray(twin(x))[0], atol=1e-5)


@pytest.mark.slow
def test_images_are_drawn_at_a_size_that_reads(monitored_run):
    """About a TensorBoard card's width (which shrinks wider images), every panel and
    attention cell large enough to see: at 72 dpi and 7 pt the labels were 7 px high."""
    run = seq2seq.load_run(monitored_run)
    source, target = [4, 5, 6, 7, 0], [7, 6, 5, 4]
    states = tensorboard_images.states_image(run.model, run.vocabs, source, target)
    assert states.shape[0] == 1 and states.shape[3] == 4
    assert 400 <= states.shape[2] <= 600
    assert states.shape[1] >= 4 * 200  # four panels (h, c; encoder, decoder), 200 px each
    attention = tensorboard_images.attention_image(run.model, run.vocabs, source, target)
    assert attention.shape[1] >= 30 * 5 and attention.shape[2] >= 30 * 4  # cells of 30 px+
    assert tensorboard_images.IMAGE_DPI >= 100 and tensorboard_images.LABEL_SIZE >= 10


def test_long_sequences_label_every_kth_step():
    ticks = {}

    def set_ticks(positions, labels, **style):
        ticks.update(positions=list(positions), labels=labels, style=style)

    tensorboard_images.label_steps(set_ticks, [str(i % 10) for i in range(40)])
    assert ticks["positions"] == list(range(0, 40, 3))
    assert len(ticks["labels"]) <= tensorboard_images.MAX_LABELS
    assert ticks["style"] == {"fontsize": tensorboard_images.LABEL_SIZE}
    tensorboard_images.label_steps(set_ticks, ["<bos>", "1"])
    assert ticks["style"]["rotation"] == 45  # long labels turned, to stay apart


def test_hparams_trial_is_named_by_the_overrides_that_set_hyperparameters(data_dir):
    cfg = compose_config(["model=attention", "model.units=64", "seed=3"])
    overrides = [
        "model=attention", "model.units=64", f"data_dir={data_dir}", "logging.images=false",
        "trainer.resume=true", "seed=3", "+experiment=dates", "optimized_metric=val/bleu",
    ]  # fmt: skip
    name = tensorboard_summaries.trial_name(cfg, overrides, "outputs/2026-11-22/10-00-00")
    assert name == "model=attention,model.units=64,seed=3,+experiment=dates"
    assert tensorboard_summaries.trial_name(cfg, ["logging.samples=0"], "x") == "default"
    assert tensorboard_summaries.trial_name(cfg, [], "x") == "default"
    # Without a command line (`seq2seq.train(cfg)` in Python): the fallback, its directory.
    assert tensorboard_summaries.trial_name(cfg, None, "runs/a") == "runs/a"


def test_command_line_overrides_are_hydras_task_overrides():
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    from seq2seq.config.shipped import CONFIG_DIR

    assert tensorboard_summaries.command_line_overrides() is None
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["model.units=64"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    try:
        assert tensorboard_summaries.command_line_overrides() == ["model.units=64"]
    finally:
        HydraConfig.instance().cfg = None


def test_resume_rewinds_step_level_figures_to_the_epochs_kept(tmp_path):
    """Epoch-level tags are counted in epochs, `batch_*` in optimizer steps (4 an epoch
    here): resuming at epoch 2 keeps epochs 0-1 and steps 1-8 of each."""
    writer = tf.summary.create_file_writer(str(tmp_path / "train"))
    with writer.as_default():
        for epoch in range(3):
            for step in range(epoch * 4 + 1, epoch * 4 + 5):
                tf.summary.scalar("batch_loss", 1.0, step=step)
            tf.summary.scalar("epoch_loss", 1.0, step=epoch)
    writer.close()
    assert truncate_events(tmp_path, 2, steps_per_epoch=4) == 5
    kept = events(tmp_path / "train")
    assert [e.step for e in kept.Tensors("epoch_loss")] == [0, 1]
    assert [e.step for e in kept.Tensors("batch_loss")] == list(range(1, 9))


def test_resume_rewinds_the_step_level_validation_too(tmp_path):
    """`validation/batch_*` (StepValidation, 2 points an epoch of 4 steps) is dropped past
    the epochs kept as the training's `batch_*` are, beside Keras' `epoch_*` there."""
    writer = tf.summary.create_file_writer(str(tmp_path / "validation"))
    with writer.as_default():
        for epoch in range(3):
            for step in (epoch * 4 + 2, epoch * 4 + 4):
                tf.summary.scalar("batch_bleu", 1.0, step=step)
                tf.summary.scalar("batch_exact_match", 1.0, step=step)
            tf.summary.scalar("epoch_bleu", 1.0, step=epoch)
    writer.close()
    assert truncate_events(tmp_path, 2, steps_per_epoch=4) == 5
    kept = events(tmp_path / "validation")
    assert [e.step for e in kept.Tensors("epoch_bleu")] == [0, 1]
    for tag in ("batch_bleu", "batch_exact_match"):
        assert [e.step for e in kept.Tensors(tag)] == [2, 4, 6, 8], tag


# --- the real TensorBoard server ----------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tensorboard_server(monitored_run):
    """`tensorboard` over the finished run, on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(monitored_run),
         "--host", "127.0.0.1", "--port", str(port), "--load_fast", "false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                runs = get(url, "/data/runs")
                if {"tensorboard", "tensorboard/train", "tensorboard/validation"} <= set(runs):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("tensorboard did not come up")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def get(url, path, raw=False):
    with urllib.request.urlopen(url + path, timeout=30) as response:
        body = response.read()
    return body if raw else json.loads(body)


def post(url, path, body):
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_server_serves_scalars(tensorboard_server, monitored_run):
    points = get(
        tensorboard_server,
        "/data/plugin/scalars/scalars?run=tensorboard/validation&tag=epoch_exact_match",
    )
    assert [step for _, step, _ in points] == [0, 1]
    metrics = json.loads((monitored_run / "metrics.json").read_text())
    assert np.isclose(points[-1][2], metrics["val"]["exact_match"])
    rates = get(
        tensorboard_server,
        "/data/plugin/scalars/scalars?run=tensorboard/train&tag=epoch_learning_rate",
    )
    assert len(rates) == 2
    # The step-level validation, in the same run as Keras' own validation figures: the
    # real server reads both (one event file), at every step of these 4-step epochs.
    bleu = get(
        tensorboard_server, "/data/plugin/scalars/scalars?run=tensorboard/validation&tag=batch_bleu"
    )
    assert [step for _, step, _ in bleu] == list(range(1, 9))
    assert np.isclose(bleu[-1][2], metrics["val"]["bleu"])


@pytest.mark.slow
def test_server_serves_histograms(tensorboard_server):
    tags = get(tensorboard_server, "/data/plugin/histograms/tags")["tensorboard/train"]
    tag = next(t for t in tags if "decoder" in t and t.endswith("kernel/histogram"))
    series = get(
        tensorboard_server, f"/data/plugin/histograms/histograms?run=tensorboard/train&tag={tag}"
    )
    assert len(series) == 2 and len(series[0][2]) > 1  # buckets at each epoch


@pytest.mark.slow
def test_server_serves_decoded_samples_as_text(tensorboard_server):
    texts = get(tensorboard_server, "/data/plugin/text/text?run=tensorboard&tag=decoded_samples")
    assert [t["step"] for t in texts] == [0, 1]
    assert "<th>prediction</th>" in texts[-1]["text"]


@pytest.mark.slow
def test_server_serves_state_and_attention_images(tensorboard_server):
    for tag in ("states", "attention"):
        images = get(tensorboard_server, f"/data/plugin/images/images?run=tensorboard&tag={tag}")
        assert len(images) == 2
        png = get(
            tensorboard_server,
            "/data/plugin/images/individualImage?" + images[-1]["query"],
            raw=True,
        )
        assert png.startswith(b"\x89PNG")


@pytest.mark.slow
def test_server_serves_hparams_with_final_metrics(tensorboard_server, monitored_run):
    experiment = post(tensorboard_server, "/data/plugin/hparams/experiment", {"experimentName": ""})
    names = {h["name"] for h in experiment["hparamInfos"]}
    assert {
        "model.units",
        "model.name",
        "trainer.learning_rate",
        "task.max_source_symbols",
    } <= names
    metric_names = [m["name"] for m in experiment["metricInfos"]]
    assert {("final", "test_exact_match"), ("validation", "epoch_exact_match")} <= {
        (m["group"], m["tag"]) for m in metric_names
    }
    groups = post(
        tensorboard_server,
        "/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "startIndex": 0,
            "sliceSize": 10,
            "allowedStatuses": [
                "STATUS_UNKNOWN",
                "STATUS_SUCCESS",
                "STATUS_FAILURE",
                "STATUS_RUNNING",
            ],
            "colParams": [{"metric": name} for name in metric_names] + [{"hparam": "model.units"}],
        },
    )["sessionGroups"]
    assert len(groups) == 1
    assert groups[0]["hparams"]["model.units"] == 16
    metrics = json.loads((monitored_run / "metrics.json").read_text())
    values = {(m["name"]["group"], m["name"]["tag"]): m["value"] for m in groups[0]["metricValues"]}
    assert np.isclose(values[("final", "test_exact_match")], metrics["test"]["exact_match"])
    assert np.isclose(values[("validation", "epoch_exact_match")], metrics["val"]["exact_match"])
