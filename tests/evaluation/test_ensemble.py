"""Ensembles (`ensemble=[DIR2,DIR3]`): a step is the mean of the members' log-softmax, an
ensemble of one decodes what its model decodes, members must agree on the target
vocabulary; and `evaluate` and `predict` take them on the command line."""

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from seq2seq import UserError, build_model, compose_config, decode, evaluate, predict
from seq2seq.base.names import CONFIG_FILE, METRICS_FILE, MODEL_FILE
from seq2seq.checks.command import validate_evaluate, validate_predict
from seq2seq.data.splits import Split
from seq2seq.decoding.ensemble import Ensemble, source_id_map
from seq2seq.decoding.strategies import decode_n_best
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.serving.finished_run import Run, load_ensemble
from seq2seq.text.vocabulary import BOS_ID, PAD_ID, UNKNOWN, Vocabularies, Vocabulary

VOCAB = 12
MAX_LEN = 9


def small_model(*overrides, seed=0):
    """An untrained model of 12 token ids (shared by both sides), built in-process."""
    cfg = compose_config(["model.units=16", "model.embedding_dim=8", *overrides])
    keras.utils.set_random_seed(seed)
    return build_model(cfg.model, VOCAB)


@pytest.fixture(scope="module")
def members():
    """Two untrained models of other families: attention's memory must follow the beams."""
    return small_model(seed=0), small_model("model=attention", seed=1)


@pytest.fixture(scope="module")
def sources():
    ids = np.random.default_rng(0).integers(3, VOCAB, size=(6, 5)).astype(np.int32)
    ids[:2, 3:] = PAD_ID  # shorter sources, padded
    return tf.constant(ids)


def log_softmax(logits):
    return tf.nn.log_softmax(tf.cast(logits, tf.float32)).numpy()


def test_a_step_is_the_mean_of_the_members_log_softmax(members, sources):
    ensemble = Ensemble(members)
    encoded = ensemble.encode(sources, training=False)
    state = ensemble.initial_decoder_state(encoded)
    own = [(m, m.encode(sources, training=False)) for m in members]
    own_states = [m.initial_decoder_state(e) for m, e in own]
    tokens = tf.fill([sources.shape[0]], BOS_ID)
    for step in range(3):  # the states carry over: each step is the mean again
        log_probs, state = ensemble.decode_step(tokens, state, encoded)
        steps = [m.decode_step(tokens, s, e) for (m, e), s in zip(own, own_states)]
        own_states = [s for _, s in steps]
        expected = np.mean([log_softmax(logits) for logits, _ in steps], axis=0)
        assert log_probs.dtype == tf.float32
        np.testing.assert_allclose(log_probs.numpy(), expected, rtol=1e-6, atol=1e-6)
        tokens = tf.constant([3 + (step + row) % 5 for row in range(sources.shape[0])])
    for ours, theirs in zip(tf.nest.flatten(state), tf.nest.flatten(own_states)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_teacher_forced_it_returns_the_mean_of_the_members_log_softmax(members, sources):
    inputs = {"encoder_token_ids": sources, "decoder_token_ids": sources}
    expected = np.mean([log_softmax(m(inputs, training=False)) for m in members], axis=0)
    np.testing.assert_allclose(
        Ensemble(members)(inputs, training=False).numpy(), expected, rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "strategy,options",
    [
        ("greedy", {}),
        ("beam", {"beam_size": 3, "alpha": 0.0}),
        ("beam", {"beam_size": 4, "alpha": 1.0}),
    ],
)
def test_an_ensemble_of_one_decodes_what_its_model_decodes(members, sources, strategy, options):
    for model in members:
        alone = decode(model, sources, MAX_LEN, strategy, **options)
        together = decode(Ensemble([model]), sources, MAX_LEN, strategy, **options)
        np.testing.assert_array_equal(together.numpy(), alone.numpy())


def test_an_ensemble_of_one_gives_its_models_n_best_and_scores(members, sources):
    for model in members:
        ids, scores = decode_n_best(model, sources, MAX_LEN, 4, 0.5, 3)
        ids_1, scores_1 = decode_n_best(Ensemble([model]), sources, MAX_LEN, 4, 0.5, 3)
        np.testing.assert_array_equal(ids_1.numpy(), ids.numpy())
        np.testing.assert_allclose(scores_1.numpy(), scores.numpy(), rtol=1e-5, atol=1e-5)


def test_an_ensemble_of_one_gives_its_models_figures(members, sources):
    # Beam search: the decoded figures (greedy's ids are pinned above) and the loss.
    strategy, options = "beam", {"beam_size": 3}
    ids = sources.numpy()
    split = Split.from_rows(
        [row[row != PAD_ID] for row in ids], [row[row != PAD_ID][::-1] for row in ids]
    )
    model = members[1]
    alone = Evaluator(model, 4, strategy, **options)
    together = Evaluator(Ensemble([model]), 4, strategy, **options)
    for ours, theirs in zip(together.decode_split(split)[0], alone.decode_split(split)[0]):
        np.testing.assert_array_equal(ours, theirs)
    figures, expected = together(split), alone(split)
    assert figures.keys() == expected.keys()
    assert figures["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    figures.pop("loss"), expected.pop("loss")
    assert figures == expected


def test_beam_search_reorders_every_members_state(members, sources):
    # A beam of one is greedy search: the members' states and memories follow the beam.
    ensemble = Ensemble(members)
    greedy = decode(ensemble, sources, MAX_LEN, "greedy")
    beam = decode(ensemble, sources, MAX_LEN, "beam", beam_size=1, alpha=0.0)
    np.testing.assert_array_equal(beam.numpy(), greedy.numpy())
    assert decode(ensemble, sources, MAX_LEN, "beam", beam_size=3, alpha=0.0).shape == (6, MAX_LEN)
    assert decode(ensemble, sources, MAX_LEN, "sample", seed=3).shape == (6, MAX_LEN)


def test_each_member_reads_the_source_in_its_own_vocabulary(members, sources):
    run = Vocabulary([str(i) for i in range(VOCAB - 3)])
    # The member's ids of the same symbols, in another order.
    shuffled = Vocabulary([str(i) for i in reversed(range(VOCAB - 3))])
    id_map = source_id_map(run, shuffled)
    assert id_map[:3].tolist() == [0, 1, 2]
    assert [shuffled.tokens[i] for i in id_map[3:]] == run.symbols
    model = members[0]
    mapped = tf.gather(id_map, sources)
    np.testing.assert_array_equal(
        decode(Ensemble([model], [id_map]), sources, MAX_LEN).numpy(),
        decode(model, mapped, MAX_LEN).numpy(),
    )
    # A symbol the member lacks reads as its <unk>; without one, it is refused.
    with_unknown = Vocabulary([UNKNOWN, "0", "1"])
    assert source_id_map(Vocabulary(["0", "7"]), with_unknown).tolist() == [0, 1, 2, 4, 3]
    with pytest.raises(KeyError, match="'7'"):
        source_id_map(Vocabulary(["0", "7"]), Vocabulary(["0", "1"]))


# Runs on disk, untrained: what loading and validation refuse, without training.


def fake_run(path, vocabs, seed=0):
    """A finished run's files around an untrained model of `vocabs`' sizes."""
    cfg = compose_config(["model.units=8", "model.embedding_dim=4"])
    keras.utils.set_random_seed(seed)
    model = build_model(cfg.model, *vocabs.model_sizes())
    path.mkdir(parents=True)
    model.save(path / MODEL_FILE)
    vocabs.save(path)
    OmegaConf.save(cfg, path / CONFIG_FILE)
    (path / METRICS_FILE).write_text("{}")
    return Run(path, model, cfg, vocabs)


def digits(count, tokenizer="space"):
    return Vocabulary([str(i) for i in range(count)], tokenizer)


def one_line_error(call) -> str:
    with pytest.raises(UserError) as error:
        call()
    assert "\n" not in str(error.value)
    return str(error.value)


def test_a_member_with_another_target_vocabulary_is_refused_in_one_line(tmp_path):
    run = fake_run(tmp_path / "a", Vocabularies(digits(9), digits(5)))
    fake_run(tmp_path / "b", Vocabularies(digits(9), digits(6)))
    message = one_line_error(lambda: load_ensemble(run, [str(tmp_path / "b")]))
    assert message.startswith(f"ensemble={str(tmp_path / 'b')!r}: its target vocabulary differs")
    assert "9 token ids against 8" in message
    fake_run(tmp_path / "c", Vocabularies(digits(9), Vocabulary(["a", "1", "2", "3", "4"])))
    assert "id 3 is 'a' against '0'" in one_line_error(
        lambda: load_ensemble(run, [str(tmp_path / "c")])
    )


def test_a_member_that_cannot_read_the_source_is_refused_in_one_line(tmp_path):
    run = fake_run(tmp_path / "a", Vocabularies(digits(9), digits(5)))
    fake_run(tmp_path / "b", Vocabularies(digits(8), digits(5)))
    message = one_line_error(lambda: load_ensemble(run, [str(tmp_path / "b")]))
    assert "lacks run_dir's symbol '8' and has no <unk>" in message
    fake_run(tmp_path / "c", Vocabularies(digits(9, "char"), digits(5)))
    assert "another tokenizer (char)" in one_line_error(
        lambda: load_ensemble(run, [str(tmp_path / "c")])
    )
    # Another source vocabulary, with <unk>: the member reads what it lacks as <unk>.
    fake_run(tmp_path / "d", Vocabularies(Vocabulary([UNKNOWN, "3", "0"]), digits(5)))
    ensemble = load_ensemble(run, [str(tmp_path / "d")])
    assert len(ensemble.models) == 2 and ensemble.source_maps[0] is None
    assert ensemble.source_maps[1].numpy().tolist() == [0, 1, 2, 5, 3, 3, 4] + [3] * 5


def test_validation_refuses_an_unfinished_or_repeated_member(tmp_path):
    fake_run(tmp_path / "a", Vocabularies.shared(digits(5)))
    fake_run(tmp_path / "b", Vocabularies.shared(digits(5)))
    (tmp_path / "c").mkdir()
    (tmp_path / "x").mkdir()

    def check(*ensemble, command="evaluate"):
        args = [f"run_dir={tmp_path / 'a'}", f"ensemble=[{','.join(map(str, ensemble))}]"]
        if command == "predict":
            args.append("input='1 2'")
        cfg = compose_config(args, config_name=command)
        validate = validate_evaluate if command == "evaluate" else validate_predict
        return one_line_error(lambda: validate(cfg))

    b, c = tmp_path / "b", tmp_path / "c"
    assert check(c).startswith(f"ensemble={str(c)!r}: no finished run there (config.yaml is")
    assert check(b, tmp_path / "x" / ".." / "a", command="predict") == (
        f"ensemble={str(tmp_path / 'x' / '..' / 'a')!r}: is run_dir again and would count "
        "twice in the mean; allowed: other finished runs, each once"
    )
    assert "is the entry" in check(b, b)
    cfg = compose_config(
        [f"run_dir={tmp_path / 'a'}", f"ensemble=[{b}]", "input='1'", f"output_file={b}/out.txt"],
        config_name="predict",
    )
    assert one_line_error(lambda: validate_predict(cfg)).startswith(
        f"output_file='{b}/out.txt': is inside ensemble={str(b)!r}"
    )


# The command lines, on tiny trained runs.


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, tiny_run):
    """Two tiny runs of one task (an `lstm`, the default model, and an `attention`: copies
    of conftest's `tiny_run`), and a copy of the first."""
    root = tmp_path_factory.mktemp("ensemble_runs")
    tiny_run(root / "lstm")
    tiny_run(root / "attention", "model=attention")
    shutil.copytree(root / "lstm", root / "copy")
    return root / "lstm", root / "attention", root / "copy"


def evaluation_files(run_dir) -> set:
    return {path.name for path in (run_dir / "evaluation").glob("*.json")}


@pytest.mark.slow
def test_evaluate_an_ensemble_writes_its_own_report(tiny_runs, capsys):
    lstm, attention, copy = tiny_runs
    args = [f"run_dir={lstm}", "decoding=beam", "decoding.beam_size=3", "eval.size=50"]
    assert evaluate.main(args) == 0
    alone = json.loads((lstm / "evaluation" / "test-beam3-lp0-longer6-10x50.json").read_text())
    before = evaluation_files(lstm)
    assert evaluate.main([*args, f"ensemble=[{attention}]"]) == 0
    out = capsys.readouterr().out
    assert f"ensemble: with {attention}" in out
    (name,) = evaluation_files(lstm) - before
    assert name.startswith("test-beam3-lp0-ensemble2-") and name.endswith("-longer6-10x50.json")
    report = json.loads((lstm / "evaluation" / name).read_text())
    assert report["ensemble"] == [str(attention)] and report["split"]["size"] == 32
    # The run with a copy of itself: the mean of two equal log-probabilities is theirs.
    assert evaluate.main([*args, f"ensemble=[{copy}]"]) == 0
    (name,) = evaluation_files(lstm) - before - {name}
    itself = json.loads((lstm / "evaluation" / name).read_text())
    for part in ("split", "length_generalization"):
        ours, theirs = dict(itself[part]), dict(alone[part])
        assert ours.pop("loss") == pytest.approx(theirs.pop("loss"), rel=1e-5)
        assert ours == theirs


@pytest.mark.slow
def test_predict_with_an_ensemble(tiny_runs, tmp_path, capsys):
    lstm, attention, copy = tiny_runs
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("1 2 3\n4 0 1 2\n3 3\n")
    for decoding in (["decoding=greedy"], ["decoding=beam", "decoding.n_best=2"]):
        args = [f"run_dir={lstm}", f"input_file={inputs}", *decoding]
        assert predict.main(args) == 0
        alone = capsys.readouterr().out
        assert predict.main([*args, f"ensemble=[{copy}]"]) == 0
        assert capsys.readouterr().out == alone
        output = tmp_path / "out.txt"
        assert predict.main([*args, f"ensemble=[{attention},{copy}]", f"output_file={output}"]) == 0
        lines = output.read_text().splitlines()
        assert len(lines) == 3 * (2 if "decoding.n_best=2" in decoding else 1)
