"""The token rules of decoding (min_len, no_repeat_ngram_size, top_p) on fake step
functions, as the strategies themselves are tested (test_decoding.py); their tags and
their validation."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from seq2seq import beam_search, compose_config, greedy_search, sample
from seq2seq.base.errors import ConfigError
from seq2seq.checks.decoding import check_strategy_keys
from seq2seq.config.command_schema import STRATEGY_KEYS, PredictConfig
from seq2seq.config.constraints import check_fields
from seq2seq.decoding.beam_search import beam_search_n_best
from seq2seq.decoding.strategies import DECODING_STRATEGIES, decoding_options, decoding_tag
from seq2seq.decoding.token_rules import TokenRules, repeated_ngram_tokens
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, FIRST_SYMBOL_ID, PAD_ID

VOCAB = 8
A, B, C, D = 3, 4, 5, 6


def markov(preferences: dict):
    """A step whose logits depend only on the token fed: `preferences[token]` lists tokens
    best first (each next one 2 nats less likely); any other token is far less likely."""
    table = np.full((VOCAB, VOCAB), -20.0, np.float32)
    for token, ranked in preferences.items():
        for rank, chosen in enumerate(ranked):
            table[token, chosen] = -2.0 * rank
    table = tf.constant(table)

    def step(token_ids, state):
        return tf.gather(table, token_ids), state + 1.0  # the state checks beam reordering

    return step


def state(batch):
    return tf.zeros([batch, 1])


def symbols(row) -> list:
    """A decoded row's tokens before its EOS."""
    row = list(np.asarray(row))
    return row[: row.index(EOS_ID)] if EOS_ID in row else row


# EOS right after the first token, unless it is forbidden.
EARLY_END = markov({BOS_ID: [A, B], A: [EOS_ID, B, C], B: [EOS_ID, C, A], C: [EOS_ID, A, B]})
# EOS after A B C, which comes later than the minimum below anyway.
LATE_END = markov({BOS_ID: [A, B], A: [B, EOS_ID], B: [C, EOS_ID], C: [EOS_ID, A]})


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
def test_min_len_forbids_eos_before_it(search):
    decode = {
        "greedy": lambda step, **o: greedy_search(step, state(64), 64, 8, **o),
        "beam": lambda step, **o: beam_search(step, state(64), 64, 8, beam_size=3, **o),
        "sample": lambda step, **o: sample(step, state(64), 64, 8, seed=5, **o),
    }[search]
    for min_len in (1, 3, 5):
        ids = decode(EARLY_END, rules=TokenRules(min_len=min_len)).numpy()
        ends = [list(row).index(EOS_ID) for row in ids if EOS_ID in row]
        assert len(ends) == len(ids) and min(ends) >= min_len, (min_len, ids[:3])
    assert min(list(row).index(EOS_ID) for row in decode(EARLY_END).numpy()) == 1


# After A, the step ranks PAD and BOS above every symbol.
SPECIALS_FIRST = markov({BOS_ID: [A], A: [PAD_ID, BOS_ID, EOS_ID, B], B: [EOS_ID, C]})


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
def test_the_rules_count_only_symbols_an_output_shows(search):
    # PAD and BOS never show in an output: a rule forbids them, so that min_len counts
    # symbols (greedy's A PAD EOS was an output of one symbol under min_len=2).
    decode = {
        "greedy": lambda **o: greedy_search(SPECIALS_FIRST, state(2), 2, 6, **o),
        "beam": lambda **o: beam_search(SPECIALS_FIRST, state(2), 2, 6, beam_size=2, **o),
        "sample": lambda **o: sample(SPECIALS_FIRST, state(2), 2, 6, temperature=0.1, **o),
    }[search]
    for rules, start in (
        (TokenRules(min_len=2), [A, B, EOS_ID]),
        (TokenRules(no_repeat_ngram_size=2), [A, EOS_ID]),
    ):
        for row in decode(rules=rules).numpy():
            assert list(row[: len(start)]) == start, (rules, row)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_min_len_changes_nothing_when_eos_comes_later_anyway(search):
    def decode(**options):
        if search == "greedy":
            return greedy_search(LATE_END, state(2), 2, 8, **options)
        return beam_search(LATE_END, state(2), 2, 8, beam_size=3, **options)

    plain = decode().numpy()
    assert list(plain[0, :4]) == [A, B, C, EOS_ID]
    np.testing.assert_array_equal(decode(rules=TokenRules(min_len=3)), plain)
    np.testing.assert_array_equal(decode(rules=TokenRules(min_len=2)), plain)


def test_min_len_holds_in_beam_search_n_best():
    ids, log_probs = beam_search_n_best(EARLY_END, state(2), 2, 8, 4, 0.0, 3, TokenRules(min_len=4))
    for row in ids.numpy().reshape(-1, 8):
        assert list(row).index(EOS_ID) >= 4
    assert np.all(np.isfinite(log_probs.numpy())) and np.all(log_probs.numpy() < 0)


# A step that would loop a b a b ...; C and D are its second and third choices.
LOOP = markov({BOS_ID: [A, B], A: [B, C, D, EOS_ID], B: [A, C, D, EOS_ID],
               C: [A, B, D, EOS_ID], D: [A, B, C, EOS_ID]})  # fmt: skip


def ngrams(tokens: list, n: int) -> list:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
@pytest.mark.parametrize("n", [2, 3])
def test_no_repeat_ngram_size_leaves_no_ngram_twice(search, n):
    def decode(**options):
        if search == "greedy":
            return greedy_search(LOOP, state(3), 3, 12, **options)
        if search == "beam":
            return beam_search(LOOP, state(3), 3, 12, beam_size=4, **options)
        return sample(LOOP, state(3), 3, 12, seed=1, temperature=0.3, **options)

    looping = symbols(decode().numpy()[0])
    assert looping[:6] == [A, B, A, B, A, B]
    for row in decode(rules=TokenRules(no_repeat_ngram_size=n)).numpy():
        grams = ngrams(symbols(row), n)
        assert len(grams) == len(set(grams)), (n, symbols(row))
        assert len(symbols(row)) > n  # it went on, with other tokens


def test_no_repeat_ngram_history_follows_the_beams_as_they_are_reordered():
    # Every hypothesis of the n-best list is checked against its own history: none of
    # them holds a repeated bigram, though they differ (so beams were reordered).
    ids, _ = beam_search_n_best(
        LOOP, state(2), 2, 10, 4, 0.0, 4, TokenRules(no_repeat_ngram_size=2)
    )
    rows = [symbols(row) for row in ids.numpy().reshape(-1, 10)]
    assert len({tuple(row) for row in rows[:4]}) > 1
    for row in rows:
        assert len(ngrams(row, 2)) == len(set(ngrams(row, 2))), row


# Every symbol leads to the others, EOS no likelier than PAD or BOS (the table's -20).
E = 7
ROUND = markov({BOS_ID: [A, B, C, D, E], A: [B, C, D, E], B: [C, D, E, A],
                C: [D, E, A, B], D: [E, A, B, C], E: [A, B, C, D]})  # fmt: skip


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
def test_a_row_the_rules_leave_no_symbol_ends_there_with_eos(search):
    # With no_repeat_ngram_size=1 each of the five symbols may come once: after the
    # fifth, min_len=7 cannot be met and EOS is the one token left, whatever the
    # strategy (greedy chose PAD, tied with EOS, and sampling drew from nothing).
    decode = {
        "greedy": lambda **o: greedy_search(ROUND, state(4), 4, 10, **o),
        "beam": lambda **o: beam_search(ROUND, state(4), 4, 10, beam_size=3, **o),
        "sample": lambda **o: sample(ROUND, state(4), 4, 10, seed=2, **o),
    }[search]
    symbol_ids = list(range(FIRST_SYMBOL_ID, VOCAB))
    for row in decode(rules=TokenRules(min_len=7, no_repeat_ngram_size=1)).numpy():
        tokens = list(row)
        assert sorted(tokens[:5]) == symbol_ids and tokens[5:] == [EOS_ID] + [PAD_ID] * 4, tokens


def test_repeated_ngram_tokens_reads_only_the_emitted_tokens():
    history = tf.constant([[A, B, A, PAD_ID, PAD_ID], [A, C, A, B, PAD_ID]], tf.int32)
    # After A B A, B would repeat (A, B); after A C A, C would repeat (A, C); what follows
    # the t tokens emitted (B in row 1) is not read. With t = 2, nothing repeats.
    blocked = repeated_ngram_tokens(history, tf.constant(3), 2, VOCAB).numpy()
    assert np.flatnonzero(blocked[0]).tolist() == [B]
    assert np.flatnonzero(blocked[1]).tolist() == [C]
    assert not repeated_ngram_tokens(history, tf.constant(2), 2, VOCAB).numpy().any()
    unigrams = repeated_ngram_tokens(history, tf.constant(3), 1, VOCAB).numpy()
    assert np.flatnonzero(unigrams[0]).tolist() == [A, B]


def test_the_rules_compile_with_xla_to_the_same_tokens():
    def greedy():
        return greedy_search(LOOP, state(3), 3, 10, TokenRules(min_len=4, no_repeat_ngram_size=2))

    np.testing.assert_array_equal(tf.function(greedy, jit_compile=True)(), greedy())


# Probabilities 0.5, 0.3, 0.15, 0.05 for A, B, C, D at every step, whatever is fed.
NUCLEUS_LOGITS = np.full(VOCAB, -40.0, np.float32)
NUCLEUS_LOGITS[[A, B, C, D]] = np.log([0.5, 0.3, 0.15, 0.05])


def fixed_step(token_ids, state):
    return tf.tile(tf.constant(NUCLEUS_LOGITS)[None, :], [tf.shape(token_ids)[0], 1]), state


def test_top_p_draws_only_from_the_nucleus():
    drawn = np.concatenate(
        [
            sample(fixed_step, state(2000), 2000, 1, seed=s, top_p=0.8).numpy()[:, 0]
            for s in range(5)
        ]
    )
    assert set(drawn.tolist()) == {A, B}
    assert abs(np.mean(drawn == A) - 0.5 / 0.8) < 0.03  # renormalized within the nucleus
    plain = sample(fixed_step, state(4000), 4000, 1, seed=2).numpy()[:, 0]
    assert {C, D} <= set(plain.tolist())


@pytest.mark.parametrize("top_p", [1e-6, 1e-9])
def test_a_top_p_that_no_token_reaches_keeps_the_most_likely_one(top_p):
    # A nucleus is never empty (Hugging Face's min_tokens_to_keep=1): the most likely
    # token stays, so a tiny top_p draws greedily instead of drawing from nothing.
    drawn = sample(LOOP, state(50), 50, 6, seed=4, top_p=top_p)
    np.testing.assert_array_equal(drawn, greedy_search(LOOP, state(50), 50, 6))


def test_top_p_comes_after_temperature_and_top_k():
    # At temperature 2 the probabilities flatten to about 0.38, 0.29, 0.21, 0.12: the
    # nucleus of 0.8 then holds three tokens.
    warm = sample(fixed_step, state(4000), 4000, 1, seed=3, temperature=2.0, top_p=0.8)
    assert set(warm.numpy()[:, 0].tolist()) == {A, B, C}
    # top_k=3 first: 0.5, 0.3, 0.15 renormalized to 0.53, 0.32, 0.16; a nucleus of 0.6
    # then holds A and B.
    cut = sample(fixed_step, state(4000), 4000, 1, seed=3, top_k=3, top_p=0.6)
    assert set(cut.numpy()[:, 0].tolist()) == {A, B}


def test_top_p_of_one_is_plain_sampling_for_the_same_seed():
    plain = sample(fixed_step, state(500), 500, 3, seed=7, top_k=3)
    np.testing.assert_array_equal(
        sample(fixed_step, state(500), 500, 3, seed=7, top_k=3, top_p=1.0), plain
    )


def decoding(*overrides):
    cfg = compose_config(["run_dir=x", "input=1", *overrides], config_name="predict")
    return cfg.decoding


def test_default_settings_keep_their_tags():
    assert decoding_tag(decoding()) == "greedy"
    assert decoding_tag(decoding("decoding=beam")) == "beam5-lp0"
    assert decoding_tag(decoding("decoding=sample")) == "sample-t1-k0-s0"


def test_the_tag_names_each_rule_set_away_from_its_default():
    assert decoding_tag(decoding("decoding.min_tokens=3")) == "greedy-min3"
    assert decoding_tag(decoding("decoding=beam", "decoding.no_repeat_ngram_size=2")) == (
        "beam5-lp0-norep2"
    )
    tag = decoding_tag(decoding("decoding=sample", "decoding.top_p=0.9", "decoding.min_tokens=1"))
    assert tag == "sample-t1-k0-s0-p0.9-min1"


def test_each_strategy_reads_the_keys_validation_lets_it_set():
    for key, strategies in STRATEGY_KEYS.items():
        for name, strategy in DECODING_STRATEGIES.items():
            assert (key in strategy.options.values()) == (name in strategies), (key, name)
    for name, strategy in DECODING_STRATEGIES.items():  # the rules, by every strategy
        assert "rules" in inspect.signature(strategy.search).parameters
        options = decoding_options(
            decoding(f"decoding={name}", "decoding.min_tokens=2", "decoding.no_repeat_ngram_size=3")
        )
        assert options["rules"] == TokenRules(min_len=2, no_repeat_ngram_size=3)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["decoding.top_p=0.9"], "decoding.top_p=0.9: decoding=greedy does not read it; allowed: 1, or decoding=sample"),
        (["decoding=beam", "decoding.top_p=0.5"], "decoding.top_p=0.5: decoding=beam does not read it"),
        (["decoding.min_tokens=6", "decoding.max_tokens=6"], "decoding.min_tokens=6: decoding.max_tokens=6 leaves no room for EOS after it; allowed: 0 to 5"),
        # Every key one strategy reads, under another: never passed silently.
        (["decoding.temperature=0.5"], "decoding.temperature=0.5: decoding=greedy does not read it; allowed: 1, or decoding=sample"),
        (["decoding.beam_size=3"], "decoding.beam_size=3: decoding=greedy does not read it; allowed: 5, or decoding=beam"),
        (["decoding=sample", "decoding.length_penalty=0.6"], "decoding.length_penalty=0.6: decoding=sample does not read it; allowed: 0, or decoding=beam"),
        (["decoding=beam", "decoding.top_k=3"], "decoding.top_k=3: decoding=beam does not read it; allowed: 0, or decoding=sample"),
        (["decoding.seed=7"], "decoding.seed=7: decoding=greedy does not read it; allowed: 0, or decoding=sample"),
    ],
)  # fmt: skip
def test_validation_refuses_what_a_strategy_cannot_honour(overrides, message):
    with pytest.raises(ConfigError) as refused:
        check_strategy_keys(decoding(*overrides))
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("decoding.top_p=0", "decoding.top_p"),
        ("decoding.top_p=1.5", "decoding.top_p"),
        ("decoding.min_tokens=-1", "decoding.min_tokens"),
        ("decoding.no_repeat_ngram_size=-2", "decoding.no_repeat_ngram_size"),
    ],
)
def test_validation_refuses_values_out_of_range(override, key):
    cfg = compose_config(["run_dir=x", "input=1", "decoding=sample", override], "predict")
    with pytest.raises(ConfigError, match=f"^{key}="):
        check_fields(cfg, PredictConfig, prefix="")


def test_sample_with_its_keys_validates():
    check_strategy_keys(decoding("decoding=sample", "decoding.top_p=0.9", "decoding.min_tokens=2"))
    check_strategy_keys(decoding("decoding=sample", "decoding.temperature=0.5", "decoding.seed=3"))
    check_strategy_keys(
        decoding("decoding=beam", "decoding.beam_size=3", "decoding.length_penalty=0.6")
    )
    check_strategy_keys(decoding("decoding=beam", "decoding.no_repeat_ngram_size=3"))


def test_the_rules_reach_a_model_through_decode_sequences():
    from seq2seq import build_model
    from seq2seq.decoding.sequences import decode_sequences

    keras.utils.set_random_seed(0)
    model = build_model(compose_config(["model.units=16", "model.embedding_dim=8"]).model, 12)
    sources = [[3, 4, 5], [6, 7, 8, 9, 10]]
    # n-best (decode_n_best) and decode's other path; greedy shares sampling's loop.
    for overrides in (["decoding=beam", "decoding.n_best=2"], ["decoding=sample"]):
        cfg = OmegaConf.merge(
            decoding(*overrides, "decoding.max_tokens=8"),
            {"min_tokens": 5, "no_repeat_ngram_size": 1},
        )
        for hypotheses in decode_sequences(model, sources, cfg, batch_size=2):
            for ids, _ in hypotheses:
                tokens = symbols(ids)
                assert len(tokens) >= 5 and len(set(tokens)) == len(tokens), (overrides, ids)
