"""Checkpoint averaging: `trainer.average_checkpoints=N` makes the final model the mean of
the last N epochs' checkpoints, and that model is what the run saves and measures."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import seq2seq
from conftest import WorseFrom
from seq2seq import ConfigError, compose_config, validate
from seq2seq.weights.averaging import averaged_epochs, mean_weights


def model_datasets(group) -> dict:
    """Every array under an HDF5 group, by path, the optimizer's state left out."""
    found = {}

    def visit(name, item):
        if isinstance(item, h5py.Dataset) and not name.startswith("optimizer"):
            found[name] = np.asarray(item)

    group.visititems(visit)
    return found


@pytest.fixture(scope="module")
def averaged_run(tmp_path_factory, data_dir):
    from conftest import TINY

    run_dir = tmp_path_factory.mktemp("averaged") / "run"
    cfg = compose_config(
        [
            *TINY,
            f"data_dir={data_dir}",
            "trainer.epochs=3",
            "trainer.average_checkpoints=2",
            "trainer.early_stopping.monitor=off",
        ]  # fmt: skip
    )
    validate(cfg)
    metrics = seq2seq.train(cfg, run_dir=str(run_dir))
    return run_dir, metrics


@pytest.mark.slow
def test_the_final_weights_are_the_mean_of_the_last_checkpoints(averaged_run):
    run_dir, _ = averaged_run
    assert json.loads((run_dir / "run.json").read_text())["averaged_epochs"] == [2, 3]
    files = [run_dir / "checkpoints" / f"epoch-{e:03d}.weights.h5" for e in (2, 3)]
    epochs = []
    for path in files:
        with h5py.File(path, "r") as saved:
            epochs.append(model_datasets(saved))
    with zipfile.ZipFile(run_dir / "model.keras") as archive:
        final_bytes = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(final_bytes), "r") as saved:
        final = model_datasets(saved)
    assert final.keys() == epochs[0].keys() == epochs[1].keys()
    differs = False
    for name, value in final.items():
        mean = (epochs[0][name].astype(np.float64) + epochs[1][name]) / 2
        np.testing.assert_allclose(value, mean, rtol=1e-6, atol=1e-7, err_msg=name)
        differs |= not np.allclose(epochs[0][name], epochs[1][name])
    assert differs, "the two epochs' weights are the same: the test shows nothing"


@pytest.mark.slow  # evaluates the averaged run again (about 2.5 s): for make test
def test_metrics_json_measures_the_averaged_model(averaged_run):
    from seq2seq.checks.command import validate_evaluate
    from seq2seq.serving.evaluate_run import evaluate_run

    run_dir, _ = averaged_run
    saved = json.loads((run_dir / "metrics.json").read_text())["test"]
    cfg = compose_config([f"run_dir={run_dir}", "split=test"], config_name="evaluate")
    validate_evaluate(cfg)
    measured = evaluate_run(cfg)["split"]
    for key in ("loss", "token_accuracy", "exact_match", "token_error_rate"):
        assert measured[key] == pytest.approx(saved[key], rel=1e-4, abs=1e-6), key


def test_averaging_helpers():
    assert averaged_epochs(5, 2) == [4, 5]
    assert averaged_epochs(1, 3) == [1]  # stopped before N epochs: what there is
    a, b = np.array([1.0, 3.0], np.float32), np.array([3.0, 5.0], np.float32)
    counter = np.array(7, np.int64)
    mean, kept = mean_weights([[a, np.array(1, np.int64)], [b, counter]])
    assert mean.dtype == np.float32 and mean.tolist() == [2.0, 4.0]
    assert kept == counter


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["trainer.epochs=2", "trainer.average_checkpoints=3"],
            "trainer.average_checkpoints=3: the run trains at most trainer.epochs=2",
        ),
        (
            ["trainer.epochs=5", "trainer.keep_checkpoints=2", "trainer.average_checkpoints=3"],
            "trainer.keep_checkpoints=2 prunes the checkpoints",
        ),
        (["trainer.average_checkpoints=-1"], "must be an integer >= 0"),
    ],
)
def test_averaging_that_cannot_work_is_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_config(overrides))


@pytest.mark.slow  # about 5 s: keeps make test-fast under 2 minutes
def test_with_early_stopping_it_averages_up_to_the_best_epoch(tmp_path, tiny_cfg):
    cfg = tiny_cfg("trainer.epochs=8", "trainer.early_stopping.monitor=val/loss",
                   "trainer.early_stopping.patience=2", "trainer.keep_checkpoints=2",
                   "trainer.average_checkpoints=2")  # fmt: skip
    validate(cfg)
    seq2seq.train(cfg, run_dir=str(tmp_path / "run"), callbacks=[WorseFrom(2)])
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["best_epoch"] == 2 and record["averaged_epochs"] == [1, 2]
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("epoch-*.weights.h5"))
    # Pruning keeps the newest two and the epochs to average, the best among them.
    assert kept[:2] == ["epoch-001.weights.h5", "epoch-002.weights.h5"]
