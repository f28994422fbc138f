"""Fine-tuning from a finished run (`trainer.init_from`): the parent's weights at step 0, rows
copied by symbol, frozen layers left as they were, run.json naming the parent, exact resume."""

import json

import keras
import numpy as np
import pytest

import seq2seq
from conftest import InterruptAtEpoch, write_pairs
from seq2seq import ConfigError, compose_config
from seq2seq.base.errors import Interrupted
from seq2seq.checks.validation import validate
from seq2seq.serving.finished_run import load_run

SETTING = (
    "task=tsv", "task.tokenizer=space", "task.val_size=20", "task.test_size=20",
    "model.units=16", "model.embedding_dim=8", "trainer.batch_size=32", "trainer.epochs=2",
    "trainer.early_stopping.monitor=off", "logging.samples=0", "logging.images=false",
    "logging.histogram_freq=0",
    "trainer.precision=float32",  # not auto: it times both precisions per model, seconds each
)  # fmt: skip


def new_pairs(path, count=200):
    """Pairs over a-f and i, j: the parent's a-h lose g and h, and i and j are new."""
    letters = "abcdefij"
    words = [" ".join(letters[int(d)] for d in f"{i:04o}") for i in range(count)]
    path.write_text("".join(f"{w}\t{' '.join(reversed(w.split()))}\n" for w in words))
    return path


@pytest.fixture(scope="module")
def parent(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("parent")
    pairs = write_pairs(root / "pairs.tsv", 300)
    cfg = compose_config([*SETTING, f"task.path={pairs}", f"data_dir={data_dir}"])
    seq2seq.train(cfg, run_dir=str(root / "run"))
    return load_run(root / "run")


def child_cfg(tmp_path, data_dir, parent, *extra):
    pairs = new_pairs(tmp_path / "new.tsv")
    return compose_config(
        [*SETTING, f"task.path={pairs}", f"data_dir={data_dir}",
         f"trainer.init_from={parent.path}", *extra]
    )  # fmt: skip


class AtStart(keras.callbacks.Callback):
    """The model's weights by path before the first step, and after the last."""

    def on_train_begin(self, logs=None):
        self.start = {w.path: np.array(w) for w in self.model.weights}

    def on_train_end(self, logs=None):
        self.end = {w.path: np.array(w) for w in self.model.weights}


def rows(vocab, symbols):
    return [vocab.token_id(s) for s in symbols]


@pytest.fixture(scope="module")
def child(tmp_path_factory, data_dir, parent):
    """A fine-tuned child of 3 epochs, trained once: its directory (beside its new.tsv) and
    its weights before the first step and after the last. The row-by-symbol test reads it;
    the resume test compares its interrupted and resumed run with it."""
    root = tmp_path_factory.mktemp("child")
    seen = AtStart()
    cfg = child_cfg(root, data_dir, parent, "trainer.epochs=3")
    seq2seq.train(cfg, run_dir=str(root / "child"), callbacks=[seen])
    return root, seen


@pytest.mark.slow
def test_a_fine_tuned_run_starts_from_the_parents_weights_row_by_symbol(parent, child):
    root, seen = child
    child = load_run(root / "child")
    theirs = {w.path: np.array(w) for w in parent.model.weights}
    shared, new = list("abcdef"), ["i", "j"]
    for side, path, axis in (
        ("source", child.model.embedding.embeddings.path, 0),
        ("target", child.model.output_projection.kernel.path, 1),
    ):
        mine, parents = getattr(child.vocabs, side), getattr(parent.vocabs, side)
        start = np.take(seen.start[path], rows(mine, shared), axis=axis)
        np.testing.assert_array_equal(
            start, np.take(theirs[path], rows(parents, shared), axis=axis)
        )
        fresh = np.take(seen.start[path], rows(mine, new), axis=axis)
        assert not any(
            np.allclose(fresh, np.take(theirs[path], [r], axis=axis))
            for r in range(3, parents.size)
        )
    # Every weight without a vocabulary axis is the parent's, as it was.
    for weight in child.model.encoder.weights + child.model.decoder.weights:
        np.testing.assert_array_equal(seen.start[weight.path], theirs[weight.path])
    assert (
        seen.end[child.model.encoder.weights[0].path].tolist()
        != theirs[child.model.encoder.weights[0].path].tolist()
    )
    record = json.loads((root / "child" / "run.json").read_text())
    assert record["init_from"]["run_dir"] == str(parent.path.resolve())
    symbols = child.vocabs.source.symbols
    assert record["init_from"]["source_symbols"] == {
        "from_parent": len(set(symbols) & set(parent.vocabs.source.symbols)),
        "new": 2,
    }
    assert set(symbols) - set(parent.vocabs.source.symbols) == {"i", "j"}
    assert record["init_from"]["frozen"] == []


@pytest.mark.slow
def test_frozen_embeddings_and_encoder_keep_the_parents_weights(parent, data_dir, tmp_path):
    seen = AtStart()
    cfg = child_cfg(
        tmp_path, data_dir, parent, "trainer.freeze_embeddings=true", "trainer.freeze_encoder=true"
    )
    seq2seq.train(cfg, run_dir=str(tmp_path / "child"), callbacks=[seen])
    model = load_run(tmp_path / "child").model
    frozen = [*model.encoder.weights, *model.embedding.weights]
    if model.target_embedding is not None:
        frozen += model.target_embedding.weights
    for weight in frozen:
        np.testing.assert_array_equal(seen.end[weight.path], seen.start[weight.path])
    for weight in model.decoder.weights:  # the rest trained
        assert not np.array_equal(seen.end[weight.path], seen.start[weight.path])
    record = json.loads((tmp_path / "child" / "run.json").read_text())
    assert set(record["init_from"]["frozen"]) >= {"embedding", "encoder"}


@pytest.mark.slow
def test_a_fine_tuned_run_resumes_exactly(parent, child, data_dir, tmp_path):
    # The uninterrupted run is the shared child, trained on the same pairs in the same setting.
    root, _ = child
    cfg = child_cfg(tmp_path, data_dir, parent, "trainer.epochs=3")
    with pytest.raises(Interrupted):
        seq2seq.train(cfg, run_dir=str(tmp_path / "cut"), callbacks=[InterruptAtEpoch(1)])
    resumed = child_cfg(tmp_path, data_dir, parent, "trainer.epochs=3", "trainer.resume=true")
    seq2seq.train(resumed, run_dir=str(tmp_path / "cut"))
    whole, cut = (load_run(d).model.get_weights() for d in (root / "child", tmp_path / "cut"))
    for a, b in zip(whole, cut, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_parent_of_another_shape_or_no_run_is_refused(tmp_path, data_dir):
    (tmp_path / "run").mkdir()
    with pytest.raises(ConfigError, match=r"trainer.init_from=.*no finished run there"):
        validate(compose_config([*SETTING, f"trainer.init_from={tmp_path / 'run'}"]))
    with pytest.raises(ConfigError, match=r"trainer.freeze_encoder=true: needs trainer.init_from"):
        validate(compose_config([*SETTING, "trainer.freeze_encoder=true"]))


@pytest.mark.slow
def test_a_parent_of_another_model_is_refused_naming_the_key(parent, tmp_path, data_dir):
    with pytest.raises(
        ConfigError, match=r"its model.units=16 differs from this run's model.units=32"
    ):
        validate(child_cfg(tmp_path, data_dir, parent, "model.units=32"))
    validate(child_cfg(tmp_path, data_dir, parent, "model.dropout=0.2"))  # dropout may differ
