"""The length bound: fitted to training lengths so that every training target fits and
longer sources get longer bounds; the same integers in numpy and in the graph; each row
cut at its own bound, so an output never depends on its batch; truncated outputs counted
by the evaluator and by predict's summary; `decoding.max_tokens` overriding the bound."""

import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from seq2seq.config.command_schema import DecodingConfig
from seq2seq.data.splits import Split
from seq2seq.decoding import length_bound
from seq2seq.decoding.length_bound import DEFAULT, LengthBound
from seq2seq.decoding.sequences import decode_sequences
from seq2seq.decoding.strategies import greedy_search
from seq2seq.evaluation.evaluator import Evaluator
from seq2seq.serving.predict_run import truncation_summary
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, PAD_ID, Vocabulary


def test_every_training_target_fits_and_the_bound_grows_with_the_source():
    rng = np.random.default_rng(0)
    sources = rng.integers(1, 30, 2000)
    targets = np.maximum(0, (sources * 1.7 + rng.integers(-5, 9, 2000)).astype(int))
    bound = length_bound.fit(sources, targets)
    assert np.all(targets + 1 <= bound.rows(sources))  # + EOS
    assert bound.slope == pytest.approx(targets.sum() / sources.sum() * 1.1, abs=1e-3)
    assert np.all(np.diff(bound.rows(np.arange(100))) >= 0)
    assert bound.rows([60])[0] > 1.7 * 60  # extrapolates beyond the training lengths


@pytest.mark.parametrize(
    "sources,targets,expected",
    [
        # Reversal: ratio 1, every target as long as its source: n * 1.1 + 2 + 1.
        (range(2, 11), range(2, 11), {2: 6, 10: 14, 15: 20}),
        # A two-letter source to twelve letters: ratio 6, slope 6.6; intercept 0 + 2 + 1.
        ([2] * 50, [12] * 50, {2: 17, 3: 23}),
    ],
)
def test_the_bound_of_known_lengths(sources, targets, expected):
    bound = length_bound.fit(list(sources), list(targets))
    assert {n: int(b) for n, b in zip(expected, bound.rows(list(expected)))} == expected


@pytest.mark.parametrize(
    "bound",
    [LengthBound.linear(1.1, 3, "t"), LengthBound.linear(0.713, 4.29, "t"), DEFAULT,
     LengthBound.fixed(7), length_bound.fit([3, 8, 13], [7, 2, 30])],
)  # fmt: skip
def test_numpy_and_the_graph_give_the_same_integers(bound):
    n = np.arange(0, 3000)
    in_graph = tf.function(bound.tensor)(tf.constant(n, tf.int32)).numpy()
    np.testing.assert_array_equal(in_graph, bound.rows(n))


def test_the_saved_bound_reads_back_the_same(tmp_path):
    bound = length_bound.fit([2, 5, 9], [3, 11, 12])
    bound.save(tmp_path)
    again = length_bound.load(tmp_path)
    assert (again.slope_milli, again.intercept_milli) == (bound.slope_milli, bound.intercept_milli)
    assert length_bound.load(tmp_path / "elsewhere") is None


def test_max_len_overrides_and_a_run_without_a_bound_gets_the_default_with_a_warning(caplog):
    saved = length_bound.fit([2], [12])
    assert length_bound.chosen(saved, 5).rows([1, 2, 40]).tolist() == [5, 5, 5]
    assert length_bound.chosen(saved, None) is saved
    assert "no length_bound.json" not in caplog.text
    assert length_bound.chosen(None, None, "runs/old") is DEFAULT
    assert "runs/old has no length_bound.json" in caplog.text
    assert DEFAULT.rows([3]).tolist() == [8]  # twice the source plus two, as before


def repeating_step(first_tokens):
    """A step that emits each row's first source token forever: it never ends."""

    def step(token_ids, state):
        return tf.one_hot(first_tokens, 12) * 10.0, state

    return step


def bounded_greedy(sources, bound):
    sources = tf.constant(sources, tf.int32)
    return length_bound.bounded(
        lambda ids, max_len: greedy_search(repeating_step(ids[:, 0]), tf.constant(0),
                                           tf.shape(ids)[0], max_len),
        sources, bound,
    )  # fmt: skip


def test_each_row_is_cut_at_its_own_bound_whatever_its_batch():
    bound = LengthBound.linear(2, 1, "t")  # 2n + 1
    alone, alone_cut = bounded_greedy([[5, 6, PAD_ID]], bound)
    batched, batched_cut = bounded_greedy([[5, 6, PAD_ID], [7, 7, 7]], bound)
    assert alone.shape == (1, 5) and batched.shape == (2, 7)
    np.testing.assert_array_equal(batched[0].numpy(), [5, 5, 5, 5, 5, PAD_ID, PAD_ID])
    np.testing.assert_array_equal(batched[0, :5], alone[0])
    assert alone_cut.numpy().tolist() == [True] and batched_cut.numpy().tolist() == [True, True]


def test_an_output_that_ends_within_its_bound_is_not_truncated():
    decoded = tf.constant([[4, EOS_ID, 0, 0], [4, 4, 4, EOS_ID], [4, 4, 4, 4]])
    cut, truncated = length_bound.cut(decoded, tf.constant([3, 3, 4]))
    np.testing.assert_array_equal(cut, [[4, EOS_ID, 0, 0], [4, 4, 4, 0], [4, 4, 4, 4]])
    assert truncated.numpy().tolist() == [False, True, True]


class Scripted:
    """A fake model whose decoding emits `outputs[row]`; uniform teacher-forced logits."""

    def __init__(self, outputs, vocab_size):
        self.outputs = tf.constant(outputs, tf.int32)
        self.vocab_size = vocab_size

    def __call__(self, x, training=False):
        shape = tf.shape(x["decoder_token_ids"])
        return tf.zeros([shape[0], shape[1], self.vocab_size])

    def encode(self, encoder_token_ids, training=False):
        # Which script each row follows: its source's first token, minus the first symbol.
        return encoder_token_ids[:, 0] - 3

    def initial_decoder_state(self, encoded):
        return tf.zeros_like(encoded)

    def decode_step(self, token_ids, state, encoded):
        step = tf.minimum(state, tf.shape(self.outputs)[1] - 1)
        tokens = tf.gather_nd(self.outputs, tf.stack([encoded, step], axis=1))
        return tf.one_hot(tokens, self.vocab_size) * 10.0, state + 1


VOCAB = Vocabulary(list("abcxyz"), "char")  # a is token 3, b 4, c 5, x 6


def scripts(texts, width=10, eos=True):
    """Token ids of each text, then EOS (unless `eos` is false or the text ends in "~")."""
    rows = [
        VOCAB.encode_text(t.rstrip("~")) + [EOS_ID] * (eos and not t.endswith("~")) for t in texts
    ]
    return np.array([r + [PAD_ID] * (width - len(r)) for r in rows], np.int32)


#: What the fake model emits for sources "a", "b", "c", "x" (one token: bound 4 by
#: default): "ab" ends; "abcabc" runs past the bound (cut to "abca"); "xy" ends; "abca"
#: never ends.
OUTPUTS = ["ab", "abcabc", "xy", "abca~"]


def test_the_evaluator_counts_truncated_outputs_and_compares_strings():
    references = ("ab", "abc", "xz", "abca")
    split = Split(np.array([[3], [4], [5], [6]], np.int32), scripts(references, 4, eos=False),
                  references)  # fmt: skip
    model = Scripted(scripts(OUTPUTS), VOCAB.size)
    metrics = Evaluator(model, batch_size=3, target_vocab=VOCAB)(split, by_length=True)
    assert metrics["truncated"] == 2
    # "ab", and "abca" cut by the bound to exactly its reference: the string predict prints.
    assert metrics["exact_match"] == 0.5
    assert metrics["by_length"][3]["truncated"] == 1 and metrics["by_length"][4]["truncated"] == 1
    assert metrics["by_length"][2]["truncated"] == 0
    wider = Evaluator(model, 3, target_vocab=VOCAB, bound=LengthBound.fixed(9))(split)
    assert wider["truncated"] == 1  # "abca" never ends
    by_ids = Evaluator(model, 3)(split)  # without a vocabulary: ids through EOS
    assert by_ids["exact_match"] == 0.25 and by_ids["truncated"] == 2


def decoding(max_len=None):
    # The schema's defaults (every key a strategy reads), greedy.
    return OmegaConf.merge(OmegaConf.structured(DecodingConfig), {"max_tokens": max_len})


def test_predict_gives_the_same_outputs_in_any_batch_and_its_summary_counts_the_cut():
    model = Scripted(scripts(OUTPUTS), VOCAB.size)
    sequences = [[3], [4, 3, 3], [5], [6]]  # bounds 4, 8, 4, 4 (2n + 2)
    one_by_one = decode_sequences(model, sequences, decoding(), 1, DEFAULT)
    together = decode_sequences(model, sequences, decoding(), 4, DEFAULT)
    texts = [VOCAB.decode_text(h[0][0]) for h in together]
    assert texts == ["ab", "abcabc", "xy", "abca"]
    assert [VOCAB.decode_text(h[0][0]) for h in one_by_one] == texts
    (line,) = truncation_summary(together, sequences, DEFAULT, "in.txt")
    assert line.startswith("warning: 1 of 4 outputs reached the length bound without ending")
    assert "in.txt line 4 (4 tokens)" in line
    short = decode_sequences(model, sequences, decoding(3), 4, LengthBound.fixed(3))
    assert [VOCAB.decode_text(h[0][0]) for h in short] == ["ab", "abc", "xy", "abc"]
    assert truncation_summary(short, sequences, LengthBound.fixed(3), "input")[0].startswith(
        "warning: 2 of 4 outputs"
    )
    assert truncation_summary(together[:1], sequences, DEFAULT, "input") == []
    assert BOS_ID not in together[0][0][0]
