"""Fine-tuning keeps what the parent knew: the child starts from the parent's vocabularies
(new symbols appended), a length bound and input limit no narrower than the parent's, a
warmup fitted to its own length; parents whose text becomes symbols otherwise are refused
before TensorFlow loads; a relative parent is recorded absolute; a resumed child needs only
its own directory; `task.vocab_from` gives a fresh run another run's vocabularies."""

import json
import os
import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import seq2seq
from conftest import InterruptAtEpoch
from seq2seq import ConfigError, compose_config
from seq2seq.base.errors import Interrupted
from seq2seq.base.names import (
    CONFIG_FILE,
    LENGTH_BOUND_FILE,
    METRICS_FILE,
    MODEL_FILE,
    VOCAB_FILE,
)
from seq2seq.checks.validation import validate
from seq2seq.config.shipped import sample_path
from seq2seq.decoding.length_bound import LengthBound, widest
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.serving.finished_run import load_run
from seq2seq.text.text_files import PairFile
from seq2seq.text.vocabulary import Vocabularies

QUIET = ("logging.samples=0", "logging.images=false", "logging.histogram_freq=0")
#: The shipped number-words sample, trained to its plateau in a few epochs.
PARENT = ("task=tsv", "trainer.epochs=12", "trainer.precision=float32", *QUIET)


def only_digits(path, digits="1234", count=30):
    """`count` pairs of the number-words sample whose targets use `digits` alone."""
    lines = [
        line
        for line in Path(sample_path("number_words.tsv")).read_text().splitlines()
        if set(line.split("\t")[1].replace(" ", "")) <= set(digits)
    ]
    path.write_text("\n".join(lines[:count]) + "\n")
    return path


@pytest.fixture(scope="module")
def parent(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("fine_tuning")
    cfg = compose_config([*PARENT, f"data_dir={data_dir}"])
    seq2seq.train(cfg, run_dir=str(root / "parent"))
    return root / "parent"


def child_overrides(root, parent_dir, data_dir, *extra, held_out=None):
    """The fine-tuning the issue reported: 3 epochs on 30 pairs lacking the digits 0, 5-9,
    measured on the parent's own held-out pairs."""
    held_out = held_out or parent_dir / "held_out"
    return [
        "task=tsv", f"task.path={only_digits(root / 'new.tsv')}",
        f"task.val_path={held_out / 'val.tsv'}", f"task.test_path={held_out / 'test.tsv'}",
        f"trainer.init_from={parent_dir}", "trainer.epochs=3", "trainer.precision=float32",
        f"data_dir={data_dir}", *QUIET, *extra,
    ]  # fmt: skip


def exact_match(run_dir, held_out_dir) -> float:
    """A run's greedy exact-match on the parent's held-out test pairs."""
    run = load_run(run_dir)
    from seq2seq.data.tsv import load_pairs_file

    split = load_pairs_file(
        PairFile(held_out_dir / "test.tsv", run.vocabs.tokenizers, key="test"), run.vocabs
    )
    evaluator = Evaluator(
        run.model, 256, target_vocab=run.vocabs.target, bound=run.decoding_bound()
    )
    return evaluator(split)["exact_match"]


@pytest.mark.slow
def test_a_child_fine_tuned_on_a_few_pairs_keeps_what_the_parent_knew(parent, data_dir, tmp_path):
    seq2seq.train(
        compose_config(child_overrides(tmp_path, parent, data_dir)), run_dir=str(tmp_path / "child")
    )
    theirs, mine = (Vocabularies.load(d / VOCAB_FILE) for d in (parent, tmp_path / "child"))
    # Every symbol keeps its id; none was dropped for lack of examples in the new pairs.
    for side in ("source", "target"):
        parent_tokens = getattr(theirs, side).tokens
        assert getattr(mine, side).tokens[: len(parent_tokens)] == parent_tokens
    assert mine.source.max_source_len >= theirs.source.max_source_len
    bounds = [
        LengthBound.from_json(json.loads((d / LENGTH_BOUND_FILE).read_text()))
        for d in (parent, tmp_path / "child")
    ]
    assert (bounds[1].slope, bounds[1].intercept) >= (bounds[0].slope, bounds[0].intercept)
    before = exact_match(parent, parent / "held_out")
    after = exact_match(tmp_path / "child", parent / "held_out")
    assert before >= 0.95
    assert after >= before - 0.01, (before, after)
    # The digits the new pairs lack are still decoded.
    run = load_run(tmp_path / "child")
    from seq2seq.decoding.sequences import decode_sequences

    sources = ["five thousand nine hundred and eighty seven", "six hundred and fifty"]
    decoding = compose_config(config_name="predict").decoding
    hypotheses = decode_sequences(
        run.model, [run.vocabs.source.encode_text(s) for s in sources], decoding, 8,
        run.decoding_bound(),
    )  # fmt: skip
    decoded = [run.vocabs.target.decode_text(best[0][0]) for best in hypotheses]
    assert decoded == ["5 9 8 7", "6 5 0"]
    record = json.loads((tmp_path / "child" / "run.json").read_text())["init_from"]
    assert record["run_dir"] == str(parent.resolve())
    assert record["target_symbols"]["new"] == 0


def test_the_parents_vocabulary_is_extended_never_rebuilt():
    from seq2seq.text.vocabulary import Vocabulary

    parent = Vocabulary(["<unk>", "a", "b", "c"], "char", max_source_len=7)
    from collections import Counter

    child = parent.extended(Counter({"c": 5, "z": 3, "y": 3, "x": 1}), min_freq=2)
    assert child.tokens[: parent.size] == parent.tokens
    assert child.symbols[len(parent.symbols) :] == ["y", "z"]  # by count, ties alphabetical
    assert child.max_source_len == 7


def test_a_bound_widened_by_the_parents_is_no_narrower_than_either():
    own, theirs = LengthBound.linear(1.1, 3, "training data"), LengthBound.linear(1.5, 2, "x")
    wide = widest(own, theirs)
    assert (wide.slope, wide.intercept) == (1.5, 3)
    assert (wide.rows([1, 10, 40]) >= own.rows([1, 10, 40])).all()
    assert (wide.rows([1, 10, 40]) >= theirs.rows([1, 10, 40])).all()
    assert widest(own, None) is own


def fake_run(directory, *overrides):
    """A directory that passes for a finished run of `overrides` (its config and files)."""
    directory.mkdir(parents=True)
    cfg = compose_config(["task=tsv", *overrides])
    (directory / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg))
    for name in (MODEL_FILE, VOCAB_FILE):
        (directory / name).write_text("{}")
    (directory / METRICS_FILE).write_text("{}")
    return directory


@pytest.mark.parametrize(
    "theirs, mine, said",
    [
        (["task.tokenizer=char"], ["task.tokenizer=space"], "its source tokenizer is char"),
        (
            ["task.target_tokenizer=char"],
            ["task.target_tokenizer=space"],
            "its target tokenizer is char, this run's space",
        ),
        (["task.shared_vocab=true"], [], "its task.shared_vocab=True differs"),
        (["task.normalize=lower"], [], "its task.normalize=lower differs from this run's none"),
    ],
)
@pytest.mark.parametrize("key", ["trainer.init_from", "task.vocab_from"])
def test_a_parent_whose_text_becomes_other_symbols_is_refused(tmp_path, key, theirs, mine, said):
    run = fake_run(tmp_path / "parent", *theirs)
    with pytest.raises(ConfigError, match=rf"{key}=.*{said}"):
        validate(compose_config(["task=tsv", f"{key}={run}", *mine]))


def test_a_relative_parent_is_recorded_absolute(tmp_path, monkeypatch):
    run = fake_run(tmp_path / "runs" / "parent")
    monkeypatch.chdir(tmp_path)
    cfg = compose_config(
        ["task=tsv", "trainer.init_from=runs/parent", "task.vocab_from=runs/parent"]
    )
    assert cfg.trainer.init_from == str(run.resolve())
    assert cfg.task.vocab_from == str(run.resolve())
    assert os.path.isabs(cfg.trainer.init_from)


def test_vocab_from_is_refused_on_a_generated_task(tmp_path):
    run = fake_run(tmp_path / "parent")
    with pytest.raises(ConfigError, match=r"task.vocab_from=.*only task=tsv"):
        validate(compose_config([f"task.vocab_from={run}"]))


def test_a_resumed_child_is_not_refused_when_its_parent_moved(tmp_path):
    # The parent is checked when a run starts; a run that resumes needs only its directory.
    gone = str(tmp_path / "moved_away")
    validate(compose_config(["task=tsv", f"trainer.init_from={gone}", "trainer.resume=true"]))
    with pytest.raises(ConfigError, match="no finished run there"):
        validate(compose_config(["task=tsv", f"trainer.init_from={gone}"]))


@pytest.mark.slow
def test_a_child_resumes_after_its_parent_moved(parent, data_dir, tmp_path):
    copy = shutil.copytree(parent, tmp_path / "parent")
    held_out = shutil.copytree(parent / "held_out", tmp_path / "held_out")
    overrides = child_overrides(tmp_path, copy, data_dir, held_out=held_out)
    with pytest.raises(Interrupted):
        seq2seq.train(
            compose_config(overrides),
            run_dir=str(tmp_path / "child"),
            callbacks=[InterruptAtEpoch(1)],
        )
    shutil.move(copy, tmp_path / "elsewhere")
    seq2seq.train(
        compose_config([*overrides, "trainer.resume=true"]), run_dir=str(tmp_path / "child")
    )
    record = json.loads((tmp_path / "child" / "run.json").read_text())
    assert record["init_from"]["run_dir"] == str(copy.resolve())
    assert record["epochs_trained"] == 3


@pytest.mark.slow
def test_vocab_from_gives_a_fresh_run_the_parents_vocabularies(parent, data_dir, tmp_path):
    overrides = child_overrides(tmp_path, parent, data_dir, "trainer.epochs=1")
    overrides = [o for o in overrides if not o.startswith("trainer.init_from")]
    seq2seq.train(
        compose_config([*overrides, f"task.vocab_from={parent}"]), run_dir=str(tmp_path / "fresh")
    )
    theirs, mine = (Vocabularies.load(d / VOCAB_FILE) for d in (parent, tmp_path / "fresh"))
    assert mine.target.tokens == theirs.target.tokens
    assert "init_from" not in json.loads((tmp_path / "fresh" / "run.json").read_text())


def test_a_fine_tuned_runs_warmup_fits_its_own_length():
    from seq2seq.training.compile import warmup_steps

    cfg = compose_config(["trainer.warmup_steps=460"]).trainer
    assert warmup_steps(cfg, total_steps=3) == 460  # not fine-tuning: as asked
    cfg.init_from = "/some/run"
    assert warmup_steps(cfg, total_steps=30) == 3
    assert warmup_steps(cfg, total_steps=100_000) == 460


def test_a_fine_tuned_run_trains_at_a_tenth_of_the_rate_unless_told():
    from seq2seq.training.compile import peak_rate

    cfg = compose_config(["trainer.learning_rate=0.005"]).trainer
    assert peak_rate(cfg) == 0.005
    cfg.init_from = "/some/run"
    assert peak_rate(cfg) == pytest.approx(0.0005)
    cfg.fine_tuning_rate = 1.0
    assert peak_rate(cfg) == 0.005
    with pytest.raises(ConfigError, match=r"trainer.fine_tuning_rate=0.5: needs trainer.init_from"):
        validate(compose_config(["trainer.fine_tuning_rate=0.5"]))
