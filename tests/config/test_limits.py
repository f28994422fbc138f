"""Limits before the machine runs out: values that would exhaust memory, overflow a seed
or decode garbage are refused at config time, with the key and the allowed range."""

import json

import pytest
from omegaconf import OmegaConf

from conftest import write_pairs
from seq2seq import ConfigError, compose_config, validate
from seq2seq.checks.command import validate_evaluate
from seq2seq.checks.decoding import check_decoding


@pytest.mark.parametrize(
    "override,key",
    [
        ("task.max_source_symbols=100000", "task.max_source_symbols"),
        ("model.units=100000", "model.units"),
        ("task.train_size=2000000000", "task.train_size"),
        ("trainer.batch_size=9223372036854775807", "trainer.batch_size"),
    ],
)
def test_a_run_larger_than_the_memory_is_refused_with_the_largest_that_fits(override, key):
    with pytest.raises(ConfigError) as info:
        validate(compose_config([override]))
    message = str(info.value)
    assert message.startswith(f"{override}: the run would need about ")
    assert "of memory and this machine has" in message and "allowed: at most" in message
    most = int(message.split("allowed: at most ")[1].split()[0].replace(",", ""))
    # Below the largest that fits (available memory moves a little between two reads).
    validate(compose_config([f"{key}={int(most * 0.9)}"]))


def test_the_default_run_fits():
    validate(compose_config())


@pytest.mark.parametrize(
    "override,message",
    [
        ("seed=4294967296", "seed=4294967296: must be an integer in [0, 4294967295]"),
        ("trainer.learning_rate=inf", "trainer.learning_rate=inf: must be a finite number > 0"),
        ("trainer.learning_rate=nan", "trainer.learning_rate=nan: must be a finite number > 0"),
        ("trainer.clipnorm=inf", "trainer.clipnorm=inf: must be a finite number > 0"),
    ],
)
def test_values_that_overflow_or_are_not_finite_are_refused(override, message):
    with pytest.raises(ConfigError) as info:
        validate(compose_config([override]))
    assert str(info.value) == message


@pytest.fixture
def finished_run_files(tmp_path):
    """The files a finished run leaves, enough for checking an evaluate config."""
    (tmp_path / "config.yaml").write_text(
        "task:\n  name: reverse\n  max_len: 10\ntrainer:\n  epochs: 1\n"
    )
    (tmp_path / "vocab.json").write_text(json.dumps({"symbols": [str(i) for i in range(10)]}))
    for name in ("model.keras", "metrics.json"):
        (tmp_path / name).write_text("{}")
    return tmp_path


@pytest.mark.parametrize(
    "override,message",
    [
        (
            "decoding.length_penalty=nan",
            "decoding.length_penalty=nan: must be a finite number >= 0",
        ),
        ("decoding.temperature=1e-50", "decoding.temperature=1e-50: must be a number >= 1e-06"),
        (
            "decoding.top_k=14",
            "decoding.top_k=14: the run's target vocabulary has 13 tokens; allowed: 0 (all) to 13",
        ),
        (
            "decoding.seed=2147483648",
            "decoding.seed=2147483648: must be an integer in [0, 2147483647]",
        ),
    ],
)
def test_decoding_values_that_decode_garbage_are_refused(finished_run_files, override, message):
    cfg = compose_config([f"run_dir={finished_run_files}", override], config_name="evaluate")
    with pytest.raises(ConfigError) as info:
        validate_evaluate(cfg)
    assert str(info.value) == message


@pytest.fixture
def files_of_pairs_run(finished_run_files):
    """A finished run's files with a vocabulary per side, as files of pairs save them:
    30 source symbols, 10 target symbols (13 target tokens)."""
    (finished_run_files / "vocab.json").write_text(
        json.dumps(
            {
                "source": {"symbols": [f"s{i}" for i in range(30)]},
                "target": {"symbols": [f"t{i}" for i in range(10)]},
            }
        )
    )
    return finished_run_files


@pytest.mark.parametrize("top_k", [14, 33])
def test_top_k_is_checked_against_the_target_vocabulary_of_a_run_with_two(
    files_of_pairs_run, top_k
):
    # 33 tokens is the source's size: the logits are the target's 13 wide.
    cfg = compose_config(
        [f"run_dir={files_of_pairs_run}", "decoding=sample", f"decoding.top_k={top_k}"],
        config_name="predict",
    )
    with pytest.raises(ConfigError) as info:
        check_decoding(cfg)
    assert str(info.value) == (
        f"decoding.top_k={top_k}: the run's target vocabulary has 13 tokens; allowed: 0 (all) to 13"
    )
    check_decoding(OmegaConf.merge(cfg, {"decoding": {"top_k": 13}}))


@pytest.mark.parametrize(
    "n, longest", [(1, 10), (2, 101)]
)  # 10 symbols once each; a de Bruijn sequence of 10 ** 2 bigrams
def test_a_min_len_no_hypothesis_can_reach_without_repeating_is_refused(
    files_of_pairs_run, n, longest
):
    cfg = compose_config(
        [f"run_dir={files_of_pairs_run}", f"decoding.no_repeat_ngram_size={n}"],
        config_name="predict",
    )
    for min_len in (longest, 0):
        check_decoding(OmegaConf.merge(cfg, {"decoding": {"min_tokens": min_len}}))
    with pytest.raises(ConfigError) as info:
        check_decoding(OmegaConf.merge(cfg, {"decoding": {"min_tokens": longest + 1}}))
    assert str(info.value) == (
        f"decoding.min_tokens={longest + 1}: with decoding.no_repeat_ngram_size={n} the run's 10 "
        f"target symbols make hypotheses of at most {longest} tokens; allowed: 0 to "
        f"{longest}, or a larger decoding.no_repeat_ngram_size"
    )


def test_a_huge_no_repeat_ngram_size_is_checked_at_once(files_of_pairs_run):
    cfg = compose_config(
        [
            f"run_dir={files_of_pairs_run}",
            "decoding.no_repeat_ngram_size=1000000000000",
            "decoding.min_tokens=1000000",
        ],
        config_name="predict",
    )
    check_decoding(cfg)  # 10 ** (10 ** 12) is never computed


def test_one_very_long_pair_is_named_in_the_log(tmp_path, caplog):
    from seq2seq.data import tsv

    path = write_pairs(tmp_path / "pairs.tsv", 100)
    with open(path, "a") as f:
        f.write(" ".join(["a"] * 20_000) + "\tb\n")
    tsv.load(
        compose_config(
            ["task=tsv", f"task.path={path}", "task.val_size=5", "task.test_size=5"]
        ).task,
        0,
        tmp_path,
    )
    assert f"{path}:101: a source of 20000 symbols, 5000 times the median (4)" in caplog.text
    assert "task.max_train_source_symbols leaves such pairs out" in caplog.text
