"""task=tsv: your own source<TAB>target file, its tokenizers, vocabulary, bad lines, and a run
that learns the shipped sample and decodes with the vocabulary saved beside it."""

import numpy as np
import pytest

from conftest import ROOT, error_lines, run_script
from seq2seq import ConfigError, UserError, compose_config, load_run, train, validate
from seq2seq.data import tsv
from seq2seq.serving.predict_run import parse_inputs
from seq2seq.text import text_files
from seq2seq.text.vocabulary import UNKNOWN, Vocabularies, Vocabulary

SAMPLE = ROOT / "data" / "number_words.tsv"


def tsv_cfg(path, *overrides):
    return compose_config(["task=tsv", f"task.path={path}", *overrides]).task


def write(tmp_path, text, name="pairs.tsv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "line, problem",
    [
        ("abc", "has no tab"),
        ("a\tb\tc", "has 2 tabs"),
        ("\tb", "empty source"),
        ("a\t ", "empty target"),
    ],
)
def test_a_bad_line_is_named_with_file_and_line(tmp_path, line, problem):
    path = write(tmp_path, f"x y\tz\n{line}\nu\tv\n")
    with pytest.raises(UserError) as error:
        list(text_files.read_pairs(text_files.PairFile(path, ("space", "space"), "error")))
    message = str(error.value)
    assert f"{path}:2:" in message and problem in message and "on_bad_line=skip" in message
    assert "\n" not in message


def test_skip_leaves_bad_lines_out_and_says_how_many(tmp_path, caplog):
    path = write(
        tmp_path, "a b\tc\nnothing here\nd\te\n\tf\n" + "".join(f"s{i}\tt\n" for i in range(8))
    )
    report = text_files.PairsRead()
    pairs = list(
        text_files.read_pairs(text_files.PairFile(path, ("space", "space"), "skip"), report=report)
    )
    assert pairs[:2] == [(1, "a b", "c"), (3, "d", "e")] and len(pairs) == 10
    assert report.bad_lines == [2, 4]
    tsv.load(tsv_cfg(path, "task.on_bad_line=skip", "task.val_size=2", "task.test_size=2"), seed=0)
    assert "skipped 2 malformed lines (line 2, 4)" in caplog.text


def test_char_and_space_tokenizers():
    assert Vocabulary(["a"], "char").split("ab c") == ["a", "b", " ", "c"]
    assert Vocabulary(["a"], "space").split(" ab  c ") == ["ab", "c"]
    assert Vocabulary(["a"], "char").join(["a", "b", " ", "c"]) == "ab c"


def test_vocabulary_comes_from_training_only_with_min_freq_and_unknown(tmp_path):
    lines = [f"w{i} common\tcommon" for i in range(40)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    data = tsv.load(
        tsv_cfg(path, "task.val_size=5", "task.test_size=5", "task.min_freq=2"), 0, tmp_path
    )
    assert data.vocabs.source.symbols == [UNKNOWN, "common"]  # each w{i} is seen once
    unknown = data.vocabs.source.unknown_id
    assert (data.val.source_ids[:, 0] == unknown).all()


def test_held_out_words_unseen_in_training_read_as_unknown(tmp_path):
    lines = [f"w{i}\tw{i}" for i in range(30)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    data = tsv.load(tsv_cfg(path, "task.val_size=5", "task.test_size=5"), 0, tmp_path)
    assert len(data.vocabs.source.symbols) == 1 + 20  # <unk> and the 20 training words
    assert (data.val.source_ids[:, 0] == data.vocabs.source.unknown_id).all()


def test_splits_are_disjoint_deterministic_and_keep_the_first_of_a_repeated_source(tmp_path):
    lines = [f"s{i}\tt{i}" for i in range(50)] + ["s0\tother"]
    path = write(tmp_path, "\n".join(lines) + "\n")
    cfg = tsv_cfg(path, "task.val_size=10", "task.test_size=10")
    first, again = tsv.load(cfg, 3, tmp_path / "a"), tsv.load(cfg, 3, tmp_path / "b")
    np.testing.assert_array_equal(first.val.source_ids, again.val.source_ids)
    assert len(first.train) + len(first.val) + len(first.test) == 50
    train = first.train.to_split()
    sources = lambda split: {tuple(r[r > 0]) for r in split.source_ids}  # noqa: E731
    assert not sources(train) & (sources(first.val) | sources(first.test))
    held = [pair for pairs in first.held_out_text.values() for pair in pairs]
    # a held-out source keeps every target; a training one trains with its first
    assert (("s0", "t0") in held) == (("s0", "other") in held)


def test_a_file_is_read_with_a_finished_runs_vocabularies(tmp_path):
    """How evaluate reads another file: with the vocabularies saved with the run."""
    path = write(tmp_path, "w1 w9\tw2\n")
    saved = Vocabularies(
        Vocabulary([UNKNOWN, "w1", "w2"], "space"), Vocabulary([UNKNOWN, "w2"], "char")
    )
    split = tsv.load_pairs_file(text_files.PairFile(path, saved.tokenizers, key="eval.file"), saved)
    assert split.source_ids.tolist() == [[4, 3]] and split.target_ids.tolist() == [[3, 3]]
    assert split.target_texts == ("w2",)


def test_splits_that_leave_nothing_to_train_are_refused(tmp_path):
    path = write(tmp_path, "a\tb\nc\td\n")
    with pytest.raises(ConfigError) as error:
        tsv.load(tsv_cfg(path, "task.val_size=1", "task.test_size=1"), 0, tmp_path)
    assert error.value.key == "task.val_size"


@pytest.mark.parametrize("key", ["task.path", "task.train_path"])
def test_a_missing_file_is_refused_at_composition_naming_the_key_typed(key):
    with pytest.raises(ConfigError) as error:
        validate(compose_config(["task=tsv", f"{key}=no/such.tsv"]))
    assert error.value.key == key


@pytest.mark.parametrize("key", ["task.path", "task.train_path"])
def test_an_empty_training_file_is_refused_naming_the_key_typed(key, tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_bytes(b"")
    with pytest.raises(ConfigError) as refused:
        validate(compose_config(["task=tsv", f"{key}={path}"]))
    assert refused.value.key == key and "the file is empty" in str(refused.value)


def test_a_bad_line_stops_train_py_in_one_line(tmp_path):
    path = write(tmp_path, "a b\tc\nno tab here\n" + "d\te\n" * 3)
    result = run_script(
        "train.py", "task=tsv", f"task.path={path}", "task.val_size=1", "task.test_size=1",
        f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        f"error: {path}:2: the line has no tab; each line must be source<TAB>target "
        "(or set task.on_bad_line=skip)"
    ]


@pytest.mark.slow
def test_the_sample_file_trains_to_high_exact_match_and_decodes_with_its_vocabulary(tmp_path):
    cfg = compose_config(
        [
            "task=tsv",
            f"task.path={SAMPLE}",
            "model.units=64",
            "model.embedding_dim=32",
            "trainer.batch_size=32",
            "trainer.epochs=6",
            "trainer.precision=float32",  # not auto: its timing costs seconds, its pick varies
            "logging.images=false",
            "logging.histogram_freq=0",
        ]
    )
    run_dir = tmp_path / "run"
    metrics = train(cfg, run_dir=str(run_dir))
    assert metrics["test"]["exact_match"] >= 0.9, metrics
    run = load_run(run_dir)
    assert run.vocabs.source.tokenizer == "space" and run.vocabs.source.unknown_id is not None
    # Unseen words read as <unk> rather than fail; the known ones keep their ids.
    ids = parse_inputs(["four hundred and two", "seven zillion"], run.vocabs.source, 20, "input")
    assert ids[1][1] == run.vocabs.source.unknown_id
    result = run_script("seq2seq/predict.py", f"run_dir={run_dir}", "input='four hundred and two'")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "4 0 2"


def test_every_reader_of_a_file_of_pairs_treats_its_header_alike(tmp_path):
    """task.header: the training file, its own validation file and evaluate's eval.file."""
    headed = "source\ttarget\n" + "".join(f"s{i}\tt{i}\n" for i in range(30))
    train = write(tmp_path, headed)
    val = write(
        tmp_path, "source\ttarget\n" + "".join(f"v{i}\tt{i}\n" for i in range(10)), "val.tsv"
    )
    sizes = ("task.val_size=5", "task.test_size=5")
    with pytest.raises(UserError, match=r"pairs.tsv:1: the first line .* set task.header=true"):
        tsv.load(tsv_cfg(train, *sizes), 0, tmp_path / "a")
    data = tsv.load(
        tsv_cfg(train, *sizes, "task.header=true", f"task.val_path={val}"), 0, tmp_path / "b"
    )
    held_out = [pair for pairs in data.held_out_text.values() for pair in pairs]
    assert "source" not in data.vocabs.source.symbols and ("source", "target") not in held_out
    assert len(data.train) + len(data.test) == 30 and len(data.val) == 10
    data = tsv.load(tsv_cfg(train, *sizes, "task.header=false"), 0, tmp_path / "c")
    assert len(data.train) + len(data.val) + len(data.test) == 31  # the header trains as a pair
    with pytest.raises(UserError, match=r"val.tsv:1: .* set task.header=true"):  # before TF
        plain = write(tmp_path, headed.split("\n", 1)[1], "plain.tsv")
        validate(compose_config(["task=tsv", f"task.path={plain}", f"task.val_path={val}", *sizes]))
    vocabs = data.vocabs
    with pytest.raises(UserError, match=r"val.tsv:1: .* set eval.header=true to skip it"):
        tsv.load_pairs_file(
            text_files.PairFile(val, vocabs.tokenizers, key="eval.file", header_key="eval.header"),
            vocabs,
        )
    assert (
        len(
            tsv.load_pairs_file(
                text_files.PairFile(
                    val, vocabs.tokenizers, key="eval.file", header=True, header_key="eval.header"
                ),
                vocabs,
            )
        )
        == 10
    )


def test_a_cached_store_still_says_which_sources_repeat(tmp_path, caplog):
    """The second run on the same file reads the encoded store; the log says it again."""
    path = write(tmp_path, "".join(f"s{i}\tt{i}\n" for i in range(30)) + "s1\tother\ns2\tother\n")
    cfg = tsv_cfg(path, "task.val_size=5", "task.test_size=5")
    for attempt in ("prepared", "cached"):
        caplog.clear()
        tsv.load(cfg, 0, tmp_path / "data")
        assert "2 lines repeat a source seen on an earlier line" in caplog.text, attempt


def test_held_out_limit_keeps_the_first_sources_of_each_file_and_every_one_out_of_training(
    tmp_path,
):
    """task.held_out_limit (debug=fast sets it): the first N sources of val_path and
    test_path, each with all its pairs; the sources past them still never train."""
    train = write(tmp_path, "".join(f"s{i}\tt{i}\n" for i in range(40)))
    val = write(
        tmp_path,
        "s0\tt0\ns1\tt1\ns0\tother\ns2\tt2\ns3\tt3\ns4\tt4\ns1\tmore\n",
        "val.tsv",
    )
    test = write(tmp_path, "".join(f"s{i}\tt{i}\n" for i in range(10, 16)), "test.tsv")
    files = (f"task.val_path={val}", f"task.test_path={test}")
    data = tsv.load(tsv_cfg(train, *files, "task.held_out_limit=2"), 0, tmp_path / "a")
    assert data.held_out_text["val"] == [
        ("s0", "t0"),
        ("s1", "t1"),
        ("s0", "other"),
        ("s1", "more"),
    ]
    assert data.held_out_text["test"] == [("s10", "t10"), ("s11", "t11")]
    assert len(data.val) == 2 and len(data.test) == 2
    # s2..s4 and s12..s15 are past the limit and train no more than without it.
    assert len(data.train) == 40 - 5 - 6
    whole = tsv.load(tsv_cfg(train, *files), 0, tmp_path / "b")
    assert len(whole.val) == 5 and len(whole.test) == 6 and len(whole.train) == len(data.train)
