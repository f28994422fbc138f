"""Every choice a schema field allows is accepted by validation and handled by the code
that dispatches on it; the lists are written once, in the schema."""

import dataclasses
import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

import seq2seq
from conftest import write_pairs
from seq2seq import ConfigError, UserError, compose_config, validate
from seq2seq.config.command_schema import (
    DecodingConfig,
    EvalConfig,
    EvaluateConfig,
    PredictConfig,
)
from seq2seq.config.constraints import OneOf, check_fields, choices, dispatch_table
from seq2seq.config.schema import (
    LoggingConfig,
    ModelConfig,
    TaskConfig,
    TrainConfig,
    TrainerConfig,
)
from seq2seq.data import generated, tsv
from seq2seq.data.splits import Split
from seq2seq.decoding.strategies import decode, decoding_options
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.model.families import OPTIONS
from seq2seq.serving.predict_run import parse_inputs
from seq2seq.text import text_files
from seq2seq.text.tokenizers import train_subword
from seq2seq.text.vocabulary import UNKNOWN, Vocabulary
from seq2seq.training import distribute
from seq2seq.training.compile import dtype_policy, make_optimizer, precision_on_this_machine

SCHEMAS = (
    TaskConfig, ModelConfig, TrainerConfig, LoggingConfig, TrainConfig,
    DecodingConfig, EvalConfig, EvaluateConfig, PredictConfig,
)  # fmt: skip

TINY_TASK = ["task.train_size=64", "task.val_size=8", "task.test_size=8", "task.vocab_size=4"]
TINY_MODEL = ["model.units=4", "model.embedding_dim=3"]
# What else a choice needs to be valid.
COMPANIONS = {
    ("model.bridge", "concat"): ["model.bidirectional=true", "model.decoder_units=8"],
    ("model.bridge", "zeros"): ["model=attention"],
    ("model.attention", "luong"): ["model=attention"],
    ("model.attention", "bahdanau"): ["model=attention"],
    ("model.name", "repeat_vector"): ["model.bridge=zeros"],
}


def train_config(key, value):
    overrides = [*TINY_TASK, *TINY_MODEL, *COMPANIONS.get((key, value), [])]
    group_options = {"task.name": "task", "model.name": "model"}
    overrides.append(f"{group_options[key]}={value}" if key in group_options else f"{key}={value}")
    if key.startswith("task.") and key != "task.name":
        overrides.append("task=tsv")
    return compose_config(overrides)


def tiny_model(cfg):
    keras.utils.set_random_seed(0)
    return seq2seq.build_model(cfg.model, 9)


def handle_task_name(cfg, key, value, tmp_path):
    if value == "tsv":
        data = tsv.load(cfg.task, 0, tmp_path)
        assert len(data.train) > 0 and data.train.target_lengths.min() > 0
    else:
        data = generated.generate(cfg.task, seed=0)
        assert len(data.train) > 0 and data.train.target_ids.any()


def handle_tokenizer(cfg, key, value, tmp_path):
    """Each side's tokenizer (or both): the data of a tsv task is split as it says."""
    path = write_pairs(tmp_path / "pairs.tsv", 120)
    task = compose_config(["task=tsv", f"task.path={path}", "task.val_size=5", "task.test_size=5",
                           f"{key}={value}"]).task  # fmt: skip
    vocabs = tsv.load(task, 0, tmp_path).vocabs
    sides = {
        "task.tokenizer": (0, 1),
        "task.source_tokenizer": (0,),
        "task.target_tokenizer": (1,),
    }[key]
    for side in sides:
        vocab = (vocabs.source, vocabs.target)[side]
        assert vocab.tokenizer == value
        assert vocab.join(vocab.split("a b")) == "a b"
        if value == "char":
            assert vocab.split("a b") == ["a", " ", "b"]
        if value == "space":
            assert vocab.split("a b") == ["a", "b"]


def handle_subword_type(cfg, key, value, tmp_path):
    from sentencepiece import sentencepiece_model_pb2

    pieces = train_subword(iter(["hello world", "hello there", "world peace"] * 30), 40, value)
    assert pieces.join(pieces.split("hello world")) == "hello world"
    model = sentencepiece_model_pb2.ModelProto.FromString(pieces.model_proto)
    assert model.trainer_spec.model_type == {"unigram": 1, "bpe": 2}[value]


def handle_on_bad_line(cfg, key, value, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\nno tab here\n")
    if value == "error":
        with pytest.raises(UserError, match="pairs.tsv:2"):
            list(text_files.read_pairs(text_files.PairFile(path, ("space", "space"), value)))
    else:
        assert list(
            text_files.read_pairs(text_files.PairFile(path, ("space", "space"), value))
        ) == [(1, "a", "b")]


def handle_repeated_sources(cfg, key, value, tmp_path):
    path = tmp_path / "pairs.tsv"
    lines = [f"s{i}\tt{i}" for i in range(20)] + [f"s{i}\tu{i}" for i in range(20)]
    path.write_text("\n".join(lines) + "\n")
    task = compose_config(["task=tsv", f"task.path={path}", "task.val_size=2", "task.test_size=2",
                           f"task.repeated_sources={value}"]).task  # fmt: skip
    data = tsv.load(task, seed=0)
    assert data.record["repeated_sources"] == {"lines": 20, "kept": value}
    assert len(data.train) == {"first": 16, "all": 32}[value]


#: Sources that each normalization changes: full-width letters, a ligature and a
#: superscript (NFKC), a combining accent (NFC), capitals with a final sigma (lower case).
UNNORMALIZED = ["Ａｂｃ", "ﬁx²", "Cafe\u0301", "ΣΟΦΟΣ", "Straße"]


def handle_normalize(cfg, key, value, tmp_path):
    """Each normalization: a file's sources train and split normalized, its targets as
    written; the SavedModel's graph normalizes as Python does."""
    from seq2seq.serving.normalization import GraphNormalizer
    from seq2seq.text.text_rules import NORMALIZERS

    path = tmp_path / "pairs.tsv"
    lines = [f"{word} {i}\t{word}" for i in range(8) for word in UNNORMALIZED]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = compose_config(["task=tsv", f"task.path={path}", "task.val_size=2", "task.test_size=2",
                           "task.tokenizer=char", f"task.normalize={value}"]).task  # fmt: skip
    data = tsv.load(task, 0, tmp_path)
    normalized = NORMALIZERS[value]
    expected = {c for word in UNNORMALIZED for c in normalized(word)}
    assert expected <= set(data.vocabs.source.symbols)
    unchanged = {c for word in UNNORMALIZED for c in word}
    assert set(data.vocabs.source.symbols) & (unchanged - expected) == set()
    assert unchanged <= set(data.vocabs.target.symbols)  # the targets as written
    held_out = [source for pairs in data.held_out_text.values() for source, _ in pairs]
    assert held_out and all(normalized(source) == source for source in held_out)
    graph = GraphNormalizer(value)(tf.constant(UNNORMALIZED)).numpy().tolist()
    assert [text.decode() for text in graph] == [normalized(word) for word in UNNORMALIZED]


def handle_model_option(cfg, key, value, tmp_path):
    model = tiny_model(cfg)
    x = {"encoder_token_ids": np.array([[4, 5, 0]]), "decoder_token_ids": np.array([[1, 6]])}
    assert model(x).shape == (1, 2, 9)
    name = key.split(".")[1]
    if name == "name":
        assert type(model) is seq2seq.FAMILIES[value] and model.family == value
    else:
        assert model.get_config()[name] == value


def handle_lr_schedule(cfg, key, value, tmp_path):
    optimizer = make_optimizer(cfg.trainer, total_steps=10)
    is_schedule = isinstance(
        optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule
    )
    assert is_schedule == (value == "cosine")


def handle_optimizer(cfg, key, value, tmp_path):
    optimizer = make_optimizer(cfg.trainer, total_steps=10)
    assert type(optimizer).__name__.lower() == value


def handle_precision(cfg, key, value, tmp_path):
    name = precision_on_this_machine(cfg.trainer).name  # auto: a policy for this machine
    assert name == value or value == "auto"
    with dtype_policy(name):
        assert keras.config.dtype_policy().name == name


def handle_strategy(cfg, key, value, tmp_path):
    if value == "multi_worker":  # needs TF_CONFIG: refused in one line without it
        with pytest.raises(UserError, match="needs TF_CONFIG"):
            distribute.make_strategy(value)
    else:
        assert isinstance(distribute.make_strategy(value), tf.distribute.Strategy)


@functools.cache
def validation_metrics() -> frozenset:
    """The names of the figures a validation pass measures (one pass, which every
    `optimized_metric` choice reads from, for the model's graph traces take seconds)."""
    source = np.array([[4, 5, 6]], np.int32)
    vocab = Vocabulary([str(i) for i in range(6)])
    model = tiny_model(compose_config([*TINY_TASK, *TINY_MODEL]))
    return frozenset(
        Evaluator(model, batch_size=4, target_vocab=vocab)(Split(source, source[:, ::-1]))
    )


def handle_optimized_metric(cfg, key, value, tmp_path):
    split, name = value.split("/")
    assert split == "val" and name in validation_metrics()


def handle_decoding_strategy(cfg, key, value, tmp_path):
    model = tiny_model(compose_config(TINY_MODEL))
    decoded = decode(
        model, tf.constant([[4, 5, 6]]), 5, value, **decoding_options(cfg.decoding)
    ).numpy()
    assert decoded.shape == (1, 5)


def handle_split(cfg, key, value, tmp_path):
    data = generated.generate(compose_config(TINY_TASK).task, seed=0)
    assert data.split(value) is getattr(data, value)


def handle_on_unknown(cfg, key, value, tmp_path):
    vocab, found = Vocabulary([UNKNOWN, "a"], "space"), {}
    if value == "error":
        with pytest.raises(UserError, match="'z' is not a symbol of the vocabulary"):
            parse_inputs(["a z"], vocab, 5, "input", value, found)
    else:
        assert parse_inputs(["a z"], vocab, 5, "input", value, found) == [[4, 3]]
        assert found == {1: ["z"]}


HANDLERS = {
    "task.name": handle_task_name,
    "task.tokenizer": handle_tokenizer,
    "task.source_tokenizer": handle_tokenizer,
    "task.target_tokenizer": handle_tokenizer,
    "task.subword_type": handle_subword_type,
    "task.on_bad_line": handle_on_bad_line,
    "task.repeated_sources": handle_repeated_sources,
    "task.normalize": handle_normalize,
    "model.name": handle_model_option,
    "model.cell": handle_model_option,
    "model.bridge": handle_model_option,
    "model.attention": handle_model_option,
    "trainer.lr_schedule": handle_lr_schedule,
    "trainer.optimizer": handle_optimizer,
    "trainer.precision": handle_precision,
    "trainer.strategy": handle_strategy,
    "optimized_metric": handle_optimized_metric,
    "decoding.strategy": handle_decoding_strategy,
    "split": handle_split,
    "on_unknown": handle_on_unknown,
}
PREFIXES = {
    TaskConfig: "task.", ModelConfig: "model.", TrainerConfig: "trainer.", LoggingConfig: "logging.",
    TrainConfig: "", DecodingConfig: "decoding.", EvalConfig: "eval.", EvaluateConfig: "", PredictConfig: "",
}  # fmt: skip


def all_choices():
    found = {}
    for schema in SCHEMAS:
        for field in dataclasses.fields(schema):
            constraint = field.metadata.get("allowed")
            if isinstance(constraint, OneOf):
                found[f"{PREFIXES[schema]}{field.name}"] = constraint.choices
    return found


CHOICES = all_choices()


def test_every_choice_field_has_a_handler_test():
    assert set(CHOICES) == set(HANDLERS)


@pytest.mark.parametrize(
    "key,value", [(key, value) for key, values in CHOICES.items() for value in values]
)
def test_each_choice_is_accepted_and_handled(key, value, tmp_path):
    if key in ("decoding.strategy", "split"):  # the evaluate command's keys
        cfg = compose_config(["run_dir=x", f"{key}={value}"], config_name="evaluate")
        check_fields(cfg, EvaluateConfig, prefix="")
    elif key == "on_unknown":  # the predict command's
        cfg = compose_config(["run_dir=x", f"{key}={value}"], config_name="predict")
        check_fields(cfg, PredictConfig, prefix="")
    else:
        cfg = train_config(key, value)
        validate(cfg)
    HANDLERS[key](cfg, key, value, tmp_path)


@pytest.mark.parametrize("key", list(CHOICES))
def test_a_value_outside_the_choices_is_refused_listing_them(key):
    allowed = ", ".join(map(str, CHOICES[key]))
    if key in ("decoding.strategy", "split"):
        cfg = compose_config(["run_dir=x", f"{key}=no-such-choice"], config_name="evaluate")
        check = lambda: check_fields(cfg, EvaluateConfig, prefix="")  # noqa: E731
    elif key == "on_unknown":
        cfg = compose_config(["run_dir=x", f"{key}=no-such-choice"], config_name="predict")
        check = lambda: check_fields(cfg, PredictConfig, prefix="")  # noqa: E731
    else:
        cfg = compose_config([f"{key}=no-such-choice"])
        check = lambda: validate(cfg)  # noqa: E731
    with pytest.raises(ConfigError) as info:
        check()
    assert str(info.value) == f"{key}='no-such-choice': allowed: {allowed}"


def test_a_dispatch_table_that_disagrees_with_the_schema_fails_at_once():
    with pytest.raises(RuntimeError, match=r"model.cell: the code handles \['gru', 'lstm'\]"):
        dispatch_table("model.cell", choices(ModelConfig, "cell"), {"lstm": 1, "gru": 2})


def test_the_model_options_are_the_schema_fields():
    """Constructor, get_config and build_model all read the one list: ModelConfig's fields."""
    assert set(OPTIONS) == {f.name for f in dataclasses.fields(ModelConfig)} - {"name"}
    cfg = compose_config(
        [*TINY_MODEL, "model=attention", "model.num_layers=2", "model.dropout=0.1"]
    )
    model = tiny_model(cfg)
    config = model.get_config()
    for name in OPTIONS:
        assert config[name] == cfg.model[name], name
    rebuilt = type(model).from_config(config)
    assert rebuilt.options == model.options
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        seq2seq.Seq2Seq(9, unitz=4)
