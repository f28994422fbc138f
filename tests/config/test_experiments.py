"""Experiments and the debug setting: each composes, validates and runs a few steps."""

import json

import pytest

import seq2seq
from conftest import write_cmudict_split, write_pairs
from seq2seq import CONFIG_DIR, compose_config, validate

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.fixture(autouse=True)
def cmudict_split(request, tmp_path, monkeypatch):
    """For experiment=cmudict, what `tools/cmudict_split.py` writes (it needs the cmudict
    package), through the tool's functions from a made-up dictionary, in a working
    directory of its own."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("name") != "cmudict":
        return
    write_cmudict_split(tmp_path / "data" / "cmudict")
    monkeypatch.chdir(tmp_path)


def test_there_are_experiments():
    assert {
        "attention_long",
        "benchmark",
        "bidirectional_gru",
        "dates",
        "deep_lstm",
        "repeat_vector",
        "tense_subword",
    } <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_lists_only_what_differs(name):
    default, cfg = compose_config(), compose_config([f"experiment={name}"])
    validate(cfg)
    assert cfg != default
    # The experiment file keeps the schema: nothing but known keys.
    assert set(cfg) == set(default)


# Every experiment trains a few steps (about 4 s each on 2 cores), in `make test` only:
# each family, option and tokenizer also trains in tests of its own.
@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_trains_a_few_steps(name, data_dir):
    """The experiment's model, optimizer, precision and steps per call, on a few batches
    of its task (the whole run's path is tested elsewhere, once)."""
    from seq2seq.data import pipeline
    from seq2seq.data.load import load_task_data
    from seq2seq.training.compile import compile_model, dtype_policy, precision_on_this_machine

    cfg = compose_config([f"experiment={name}", "debug=fast", f"data_dir={data_dir}"])
    assert cfg.task.train_size == 512 and cfg.trainer.epochs == 1
    experiment = compose_config([f"experiment={name}"])
    assert cfg.model == experiment.model  # debug keeps the experiment's model
    validate(cfg)
    task_data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    with dtype_policy(precision_on_this_machine(cfg.trainer).name):
        model = seq2seq.build_model(cfg.model, *task_data.vocabs.model_sizes())
        compile_model(model, cfg.trainer, total_steps=4)
        batches = pipeline.EpochBatches(task_data.train, cfg.trainer.batch_size, cfg.seed)
        history = model.fit(batches.dataset.take(2), epochs=1, callbacks=[batches], verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2
    assert all(loss > 0 for loss in history.history["loss"])


def test_debug_setting_is_small_and_quiet():
    cfg = compose_config(["debug=fast"])
    validate(cfg)
    assert cfg.task.train_size <= 1000 and cfg.trainer.epochs == 1
    assert cfg.logging.images is False and cfg.logging.histogram_freq == 0
    assert cfg.logging.validation_points_per_epoch == 0


def test_debug_bounds_every_epoch_and_the_held_out_work_of_a_large_file_of_pairs(tmp_path):
    """On a file of pairs debug=fast trains a few steps, not a pass over the file, and
    validates and tests on 64 sources, cut from the file or the first of their own files."""
    path = write_pairs(tmp_path / "big.tsv", 20_000)
    held_out = write_pairs(tmp_path / "held_out.tsv", 500, start=20_000)
    files = (f"task.val_path={held_out}", f"task.test_path={held_out}")
    for extra in ((), files):
        cfg = compose_config(["debug=fast", "task=tsv", f"task.train_path={path}", *extra])
        validate(cfg)
        trainer, task = cfg.trainer, cfg.task
        assert trainer.epochs == 1 and trainer.average_checkpoints == 0
        # What one epoch reads is 4 batches, whatever the file's size.
        assert trainer.steps_per_epoch * trainer.batch_size <= 4 * 128 < 20_000
        assert task.val_size == task.test_size == task.held_out_limit == 64


@pytest.mark.slow  # a tiny run on a file of 20,000 pairs: 51 s measured on a loaded 2-core machine
def test_debug_on_a_large_file_of_pairs_trains_four_steps_and_holds_out_64_sources(tmp_path):
    path = write_pairs(tmp_path / "big.tsv", 20_000)
    held_out = write_pairs(tmp_path / "val.tsv", 500, start=20_000)
    cfg = compose_config(
        ["debug=fast", "task=tsv", f"task.train_path={path}", f"task.val_path={held_out}",
         "model.units=16", "model.embedding_dim=8", f"data_dir={tmp_path / 'data'}",
         "trainer.precision=float32"]  # not auto: timing both precisions costs seconds
    )  # fmt: skip
    validate(cfg)
    seq2seq.train(cfg, run_dir=str(tmp_path / "run"))
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["train_steps"] == 4
    assert record["data"]["splits"]["val"] == record["data"]["splits"]["test"] == 64
