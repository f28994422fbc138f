"""docs/architecture.md's "How to add ...", followed: a new tokenizer, metric, decoding
strategy and callback, each added where the entry says, flow through validation, training,
`evaluate` and `predict` (and the SavedModel's `serve_text`).

Each addition is made as a user editing those files would make it: the name among the
schema field's choices (`add_choice`, as if the tuple in the schema held it), the entry in
the code's table, the class or function. One tiny run on a file of pairs carries all four.
"""

import contextlib
import dataclasses
import io
import json
from types import MappingProxyType

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import saved_model_export, write_pairs
from seq2seq import ConfigError, compose_config
from seq2seq.checks.validation import validate
from seq2seq.config.command_schema import DecodingConfig
from seq2seq.config.constraints import ALLOWED, OneOf
from seq2seq.config.schema import METRICS, EarlyStoppingConfig, TrainConfig
from seq2seq.config.task_schema import TaskConfig
from seq2seq.text.text_rules import TEXT_RULES, TextRules

pytestmark = pytest.mark.slow


def add_choice(mp: pytest.MonkeyPatch, schema: type, key: str, value: str) -> None:
    """`value` among the `one_of` choices of `schema.key`, as if the schema listed it."""
    field = next(f for f in dataclasses.fields(schema) if f.name == key)
    choices = (*field.metadata[ALLOWED].choices, value)
    mp.setattr(field, "metadata", MappingProxyType({**field.metadata, ALLOWED: OneOf(choices)}))


# -- a tokenizer: text rules (seq2seq/text/text_rules.py), the class with its graph
# form (seq2seq/text/tokenizers.py), its name in task_schema.py's TOKENIZERS.


class CommaRules(TextRules):
    """Symbols separated by commas."""

    name = "comma"
    input_words = "separated by commas"

    def split(self, text):
        return [symbol for symbol in text.split(",") if symbol]

    def join(self, symbols):
        return ",".join(symbols)

    def is_empty(self, text):
        return not self.split(text)

    def source_key(self, text):
        return tuple(self.split(text))


def comma_tokenizer():
    from seq2seq.text.tokenizers import SymbolGraph

    class CommaTokenizer(CommaRules, SymbolGraph):
        separator = ","

        def graph_split(self, texts, resource):
            return tf.strings.split(texts, ",")  # the test's inputs have no empty symbol

    return CommaTokenizer


# -- a metric: text_metrics.py (computed on decoded text), METRICS (name and direction).


def length_ratio(hypotheses, references) -> float:
    """The mean of each output's length over its reference's (a dummy metric)."""
    ratios = [len(h) / max(len(r), 1) for h, r in zip(hypotheses, references)]
    return float(np.mean(ratios)) if ratios else 0.0


# -- a callback: seq2seq/training/callbacks.py, and its place in epoch_callbacks
# (TrainingRun.callbacks).


class EpochRecorder(keras.callbacks.Callback):
    """Keeps each epoch's logs (a dummy callback)."""

    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs or {}))


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """The four additions made, one run trained with them, evaluated with the new strategy."""
    import seq2seq
    from seq2seq import evaluate
    from seq2seq.decoding import strategies
    from seq2seq.evaluation import text_metrics
    from seq2seq.text import tokenizers
    from seq2seq.training.run import TrainingRun

    root = tmp_path_factory.mktemp("how_to_add")
    path = root / "pairs.tsv"
    write_pairs(path, 300)
    path.write_text(path.read_text().replace(" ", ","))
    recorder, searches = EpochRecorder(), []
    with pytest.MonkeyPatch.context() as mp:
        for key in ("tokenizer", "source_tokenizer", "target_tokenizer"):
            add_choice(mp, TaskConfig, key, "comma")
        mp.setitem(TEXT_RULES, "comma", CommaRules)
        mp.setitem(tokenizers.TOKENIZER_CLASSES, "comma", comma_tokenizer())

        mp.setitem(METRICS, "length_ratio", "max")
        add_choice(mp, EarlyStoppingConfig, "monitor", "val/length_ratio")
        add_choice(mp, TrainConfig, "optimized_metric", "val/length_ratio")
        measured = text_metrics.text_metrics

        def with_length_ratio(hypothesis_units, reference_units, hypotheses, references):
            figures = measured(hypothesis_units, reference_units, hypotheses, references)
            return {**figures, "length_ratio": length_ratio(hypotheses, references)}

        mp.setattr(text_metrics, "text_metrics", with_length_ratio)

        def counted(step_fn, state, batch_size, max_len, rules=strategies.NO_RULES):
            searches.append(max_len)  # once per trace
            return strategies.greedy_search(step_fn, state, batch_size, max_len, rules)

        mp.setitem(strategies.DECODING_STRATEGIES, "counted", strategies.Strategy(counted))
        add_choice(mp, DecodingConfig, "strategy", "counted")

        listed = TrainingRun.callbacks

        def callbacks(self, extra=()):
            *before, checkpointer = listed(self, extra)
            return [*before, recorder, checkpointer]  # before the checkpointer, which is last

        mp.setattr(TrainingRun, "callbacks", callbacks)

        cfg = compose_config(["task=tsv", f"task.path={path}", "task.tokenizer=comma",
                              "task.val_size=10", "task.test_size=10", "model.units=16",
                              "model.embedding_dim=8", "trainer.epochs=2",
                              "trainer.early_stopping.monitor=val/length_ratio",
                              "optimized_metric=val/length_ratio", "logging.images=false",
                              "logging.samples=0", "logging.histogram_freq=0",
                              "trainer.precision=float32",  # not auto: its timing costs seconds
                              f"data_dir={root}"])  # fmt: skip
        run_dir = root / "run"
        with saved_model_export():  # its serve_text is read below
            metrics = seq2seq.train(cfg, run_dir=str(run_dir))
        table = io.StringIO()
        with contextlib.redirect_stdout(table):
            assert evaluate.main([f"run_dir={run_dir}", "decoding.strategy=counted"]) == 0
        yield {"cfg": cfg, "run_dir": run_dir, "metrics": metrics, "table": table.getvalue(),
               "recorder": recorder, "searches": searches}  # fmt: skip


def predicted(run_dir, capsys, *args) -> list:
    from seq2seq import predict

    assert predict.main([f"run_dir={run_dir}", "input='a,b,c,d\nh,g,f,e'", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_new_tokenizer_flows_through_validation_training_evaluate_and_predict(added, capsys):
    from seq2seq import UserError, load_run
    from seq2seq.serving.predict_run import parse_inputs

    run_dir = added["run_dir"]
    refused = compose_config(["task=tsv", f"task.path={added['cfg'].task.path}",
                              "task.tokenizer=tab"])  # fmt: skip
    with pytest.raises(ConfigError, match="allowed: char, space, subword, comma"):
        validate(refused)
    saved = json.loads((run_dir / "vocab.json").read_text())
    assert saved["source"]["tokenizer"] == saved["target"]["tokenizer"] == "comma"
    run = load_run(run_dir)
    assert set(run.vocabs.source.symbols) >= set("abcdefgh")  # split by commas, not spaces
    outputs = predicted(run_dir, capsys)
    assert len(outputs) == 2 and all(set(o) <= set("abcdefgh,") for o in outputs)
    with pytest.raises(UserError, match="empty; allowed: symbols separated by commas"):
        parse_inputs([","], run.vocabs.source, 10, "input")
    served = tf.saved_model.load(str(run_dir / "saved_model" / "1")).signatures["serve_text"]
    texts = served(text=tf.constant(["a,b,c,d", "h,g,f,e"]))["text"].numpy()
    assert [t.decode() for t in texts] == outputs  # the same split and join in the graph


def test_a_new_metric_appears_in_metrics_json_evaluate_and_early_stopping(added):
    run_dir = added["run_dir"]
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert "length_ratio" in json.dumps(saved)
    assert added["metrics"]["val"]["length_ratio"] > 0
    assert all("val_length_ratio" in logs for logs in added["recorder"].logs)  # monitored
    header = next(line for line in added["table"].splitlines() if line.startswith("split"))
    assert "length ratio" in header
    (report,) = (run_dir / "evaluation").glob("*-counted.json")
    split = json.loads(report.read_text())["split"]
    assert "length_ratio" in split
    assert all("length_ratio" in figures for figures in split["by_length"].values())
    tags = set()
    for events in (run_dir / "tensorboard" / "evaluation").glob("events.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            tags.update(value.tag for value in event.summary.value)
    assert any(tag.endswith("/length_ratio") for tag in tags)
    assert any("/length_ratio_by_length/" in tag for tag in tags)


def test_a_new_decoding_strategy_is_used_by_evaluate_and_predict(added, capsys):
    run_dir, searches = added["run_dir"], added["searches"]
    assert searches  # evaluate decoded with it
    assert list((run_dir / "evaluation").glob("*-counted.json"))
    traced = len(searches)
    assert predicted(run_dir, capsys, "decoding.strategy=counted") == predicted(run_dir, capsys)
    assert len(searches) > traced


def test_a_new_callback_in_training_run_callbacks_runs_each_epoch(added):
    logs = added["recorder"].logs
    assert len(logs) == added["cfg"].trainer.epochs
    assert all("val_exact_match" in epoch for epoch in logs)  # after validation


def test_a_tokenizer_name_without_its_class_fails_loudly():
    from seq2seq.config.constraints import dispatch_table
    from seq2seq.config.task_schema import TOKENIZERS
    from seq2seq.text.text_rules import text_rules
    from seq2seq.text.tokenizers import make_tokenizer

    with pytest.raises(ValueError, match="tokenizer 'tab' has no class; allowed: char"):
        make_tokenizer("tab")
    with pytest.raises(ValueError, match="tokenizer 'tab' has no text rules; allowed: char"):
        text_rules("tab")
    with pytest.raises(RuntimeError, match="the schema allows"):  # as at import
        dispatch_table("task.tokenizer", (*TOKENIZERS, "tab"), dict(TEXT_RULES))
