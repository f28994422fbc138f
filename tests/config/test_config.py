"""Configs: every file composes, every documented key works, bad values are refused."""

import ast
import io
import re
import tokenize

import pytest
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from seq2seq import CONFIG_DIR, ConfigError, UserError, compose_config, describe, validate
from seq2seq.config.shipped import sample_path
from seq2seq.config.task_defaults import TSV_SAMPLE
from seq2seq.text.pair_files import training_file

GROUPS = ("task", "model", "trainer")


def all_group_options():
    return [
        (group, path.stem)
        for group in GROUPS
        for path in sorted((CONFIG_DIR / group).glob("*.yaml"))
    ]


@pytest.mark.parametrize("group,option", all_group_options())
def test_every_config_composes_and_validates(group, option):
    cfg = compose_config([f"{group}={option}"])
    validate(cfg)
    assert cfg[group] is not None


def test_default_config_is_the_reversal_task():
    cfg = compose_config()
    assert cfg.task.name == "reverse"
    assert (cfg.task.vocab_size, cfg.task.min_source_symbols, cfg.task.max_source_symbols) == (
        10,
        3,
        10,
    )
    assert cfg.model.name == "lstm"


@pytest.mark.parametrize(
    "key,value",
    [
        ("seed", 7),
        ("task.vocab_size", 12),
        ("task.min_source_symbols", 2),
        ("task.max_source_symbols", 8),
        ("task.train_size", 500),
        ("task.val_size", 50),
        ("task.test_size", 60),
        ("model.units", 32),
        ("model.embedding_dim", 16),
        ("model.num_layers", 2),
        ("model.dropout", 0.25),
        ("trainer.epochs", 3),
        ("trainer.batch_size", 32),
        ("trainer.learning_rate", 0.003),
        ("trainer.clipnorm", 0.5),
        ("trainer.lr_schedule", "constant"),
        ("trainer.optimizer", "adamw"),
        ("model.cell", "gru"),
        ("model.bridge", "dense"),
        ("model.decoder_units", 128),
    ],
)
def test_documented_keys_override_from_the_command_line(key, value):
    cfg = compose_config([f"{key}={value}"])
    node = cfg
    for part in key.split("."):
        node = node[part]
    assert node == value
    validate(cfg)


def compose_error(override):
    with pytest.raises((HydraException, OmegaConfBaseException)) as info:
        compose_config([override])
    return describe(info.value)


@pytest.mark.parametrize(
    "override,expected",
    [
        (
            "task.vocab_sizes=3",
            "task.vocab_sizes: no such key; allowed keys here: name, vocab_size",
        ),
        ("model.unit=3", "model.unit: no such key"),
        ("task.vocab_size=abc", "task.vocab_size='abc': expected an integer"),
        ("trainer.learning_rate=fast", "trainer.learning_rate='fast': expected a number"),
        ("trainer.clipnorm=x", "trainer.clipnorm='x': expected a number or null"),
        ("seed=1.5", "seed=1.5: expected an integer"),
        ("model=transformer", "model='transformer': no such option; allowed: attention, lstm"),
        ("task.min_source_symbols=[1", "cannot parse override 'task.min_source_symbols=[1'"),
    ],
)
def test_composition_errors_are_one_line_naming_the_key(override, expected):
    message = compose_error(override)
    assert message.startswith(expected)
    assert "\n" not in message


def test_appended_top_level_key_is_refused():
    cfg = compose_config(["+learning_rate=0.1"])
    with pytest.raises(UserError, match="learning_rate: no such key"):
        validate(cfg)


@pytest.mark.parametrize(
    "override,key,allowed",
    [
        ("task.vocab_size=0", "task.vocab_size=0", ">= 1"),
        ("task.min_source_symbols=0", "task.min_source_symbols=0", ">= 1"),
        ("task.max_source_symbols=2", "task.max_source_symbols=2", "task.min_source_symbols (3)"),
        ("task.train_size=0", "task.train_size=0", ">= 1"),
        ("trainer.steps_per_epoch=0", "trainer.steps_per_epoch=0", ">= 1"),
        ("task.name=sorting", "task.name='sorting'", "allowed: reverse"),
        ("model.units=0", "model.units=0", ">= 1"),
        ("model.embedding_dim=-4", "model.embedding_dim=-4", ">= 1"),
        ("model.num_layers=0", "model.num_layers=0", ">= 1"),
        ("model.dropout=1.0", "model.dropout=1.0", "[0, 1)"),
        ("model.dropout=-0.1", "model.dropout=-0.1", "[0, 1)"),
        ("trainer.epochs=0", "trainer.epochs=0", ">= 1"),
        ("trainer.batch_size=0", "trainer.batch_size=0", ">= 1"),
        ("trainer.learning_rate=0", "trainer.learning_rate=0.0", "> 0"),
        ("trainer.clipnorm=-1", "trainer.clipnorm=-1.0", "> 0"),
        ("trainer.optimizer=lbfgs", "trainer.optimizer='lbfgs'", "adam"),
        ("trainer.lr_schedule=step", "trainer.lr_schedule='step'", "cosine"),
        ("seed=-1", "seed=-1", "[0, 4294967295]"),
        ("model.cell=lstmx", "model.cell='lstmx'", "allowed: lstm, gru, rnn"),
        ("model.bridge=sum", "model.bridge='sum'", "allowed: copy, concat, dense, zeros"),
        ("model.decoder_units=0", "model.decoder_units=0", ">= 1"),
        ("model.attention=luong", "model.attention='luong'", "only model=attention attends"),
        ("trainer.precision=float8", "trainer.precision='float8'", "mixed_bfloat16"),
        ("trainer.steps_per_execution=0", "trainer.steps_per_execution=0", ">= 1"),
        ("trainer.progress_seconds=-1", "trainer.progress_seconds=-1.0", ">= 0"),
        (
            "logging.validation_points_per_epoch=-1",
            "logging.validation_points_per_epoch=-1",
            ">= 0",
        ),
        ("trainer.strategy=tpu", "trainer.strategy='tpu'", "default, mirrored, multi_worker"),
        ("task=tsv task.tokenizer=word", "task.tokenizer='word'", "allowed: char, space"),
        ("task=tsv task.min_freq=0", "task.min_freq=0", ">= 1"),
        ("task=tsv task.on_bad_line=ignore", "task.on_bad_line='ignore'", "allowed: error, skip"),
        (
            "task=tsv task.path=a.tsv task.train_path=b.tsv",
            "task.path='a.tsv'",
            "task.train_path='b.tsv' names the training file already",
        ),
    ],
)
def test_impossible_values_are_refused_naming_key_value_and_allowed(override, key, allowed):
    cfg = compose_config(override.split())
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    message = str(info.value)
    assert message.startswith(key + ":")
    assert allowed in message
    assert "\n" not in message


@pytest.mark.parametrize("key", ["task.path", "task.train_path"])
def test_a_file_of_pairs_is_named_by_either_key_and_none_means_the_sample(key, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{i}\t{i}\n" for i in range(10, 40)))
    cfg = compose_config(["task=tsv", f"{key}={pairs}", "task.val_size=5", "task.test_size=5"])
    validate(cfg)
    assert training_file(cfg.task) == str(pairs)
    for overrides in (["task=tsv"], ["task=tsv", "task.path=null", "task.train_path=null"]):
        cfg = compose_config(overrides)
        validate(cfg)
        assert training_file(cfg.task) == sample_path(TSV_SAMPLE)


def test_held_out_splits_must_leave_room_for_training():
    # vocab 2, lengths 1..3: 2 + 4 + 8 distinct sequences, at most half of each held out.
    small = [
        "task.vocab_size=2",
        "task.min_source_symbols=1",
        "task.max_source_symbols=3",
        "task.test_size=3",
    ]
    validate(compose_config([*small, "task.val_size=4"]))
    with pytest.raises(ConfigError, match=r"task.val_size=5: .*at most 7 distinct sources"):
        validate(compose_config([*small, "task.val_size=5"]))


def test_clipnorm_null_turns_clipping_off():
    cfg = compose_config(["trainer.clipnorm=null"])
    validate(cfg)
    assert cfg.trainer.clipnorm is None


def test_attention_kind_is_checked_for_the_attention_family():
    validate(compose_config(["model=attention", "model.attention=bahdanau"]))
    with pytest.raises(ConfigError, match="model.attention='dot': allowed: luong, bahdanau"):
        validate(compose_config(["model=attention", "model.attention=dot"]))


SCHEMA_OF_GROUP = {
    "task": "TaskConfig",
    "model": "ModelConfig",
    "trainer": "TrainerConfig",
    "decoding": "DecodingConfig",
}


@pytest.mark.parametrize(
    "path",
    [p for group in SCHEMA_OF_GROUP for p in sorted((CONFIG_DIR / group).glob("*.yaml"))],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_group_options_only_override_what_differs_from_the_schema(path):
    """Defaults live in the schema; a YAML option that repeats one would hide a change
    of the default."""
    import yaml

    from seq2seq.config import command_schema, schema

    dataclass = getattr(schema, SCHEMA_OF_GROUP[path.parent.name], None) or getattr(
        command_schema, SCHEMA_OF_GROUP[path.parent.name]
    )
    defaults = dataclass()
    values = {k: v for k, v in (yaml.safe_load(path.read_text()) or {}).items() if k != "defaults"}
    repeated = [
        k for k, v in values.items() if k not in ("name", "strategy") and v == getattr(defaults, k)
    ]
    assert repeated == []


def test_no_module_of_the_packages_is_over_about_300_lines():
    # Every module of the package, in subfolders too.
    root = CONFIG_DIR.parent
    modules = [*(root / "seq2seq").rglob("*.py")]
    sizes = {
        str(p.relative_to(CONFIG_DIR.parent)): len(p.read_text().splitlines()) for p in modules
    }
    assert len(sizes) > 20
    assert {name: n for name, n in sizes.items() if n > 320} == {}


#: The places that list the metrics because they define them: the table, what fills it, and
#: the function that computes four of them (its docstring names what it returns).
METRIC_LISTS = {
    "seq2seq/config/watch_schema.py",
    "seq2seq/evaluation/evaluator.py",
    "seq2seq/evaluation/text_metrics.py",
}


def _prose(path) -> str:
    """A module's docstrings and comments, where a list of the metrics would be prose."""
    source = path.read_text()
    tree = ast.parse(source)
    nodes = [tree, *ast.walk(tree)]
    parts = [
        ast.get_docstring(node) or ""
        for node in nodes
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    parts.append(" ".join(t.string for t in tokens if t.type == tokenize.COMMENT))
    return "\n".join(parts)


def _metric_list(text: str, names, window: int = 200) -> str | None:
    """The first stretch of `window` characters naming four or more of the metrics."""
    words = re.compile(r"\b({})\b".format("|".join(sorted(names, key=len, reverse=True))))
    hits = [(m.start(), m.group(1)) for m in words.finditer(text)]
    for i, (start, _) in enumerate(hits):
        near = {name for position, name in hits[i:] if position - start < window}
        if len(near) >= 4:
            return text[start : start + window]
    return None


def test_docstrings_point_to_the_metrics_table_instead_of_listing_it():
    # A list of the metrics copied into a docstring goes stale when one is added: four did.
    from seq2seq.config.watch_schema import METRICS

    root = CONFIG_DIR.parent
    found = {}
    for path in (root / "seq2seq").rglob("*.py"):
        relative = str(path.relative_to(root))
        listed = _metric_list(_prose(path), METRICS)
        if relative not in METRIC_LISTS and listed is not None:
            found[relative] = listed
    assert found == {}
    stale = "loss, token_accuracy, exact_match, truncated and, token_error_rate, bleu and chrf."
    assert _metric_list(stale, METRICS) is not None
