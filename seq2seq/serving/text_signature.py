"""The SavedModel's `serve_text` signature (source strings in, decoded strings out) and
`serve_text_beam` (the n best hypotheses of beam search for each, with their
log-probabilities and lengths), with the
run's tokenizers inside the graph, so that a server needs TensorFlow alone (and, for a
subword vocabulary, TensorFlow Text's SentencePiece op: `import tensorflow_text`).

Each row decodes up to the run's length bound for its source (`length_bound`, constants in
the graph), as `predict` does; `truncated` says which rows reached it without ending. A
string that is not UTF-8 is refused, as `predict` refuses such a file.

Each tokenizer does in the graph what it does in Python; its class in
`seq2seq.text.tokenizers` holds both (`graph_encode`, `graph_join`, `graph_resource`):

- `char`: `tf.strings.unicode_split`, one symbol per code point, like `list(text)`;
- `space`: every run of Unicode whitespace (Python's `str.split`: ASCII whitespace,
  U+001C..U+001F, U+0085 and the Unicode separators `\\pZ`) becomes one space, then the
  text splits on it;
- `subword`: TensorFlow Text's `SentencepieceTokenizer` on the run's SentencePiece model,
  whose ids are the framework's token ids.

Before it splits, each source is normalized as the run's `task.normalize` says
(`seq2seq.serving.normalization`: TensorFlow Text's op for NFC and NFKC, so `import
tensorflow_text` before loading such a run). Symbols become ids through a
`tf.lookup.StaticHashTable` (unknown ones to `<unk>`, or refused where the vocabulary has
none), and both signatures return `unknown`, how many symbols of each source the
vocabulary lacks, as predict counts them in its warnings; decoded ids become text by a
gather and a join.
Subword pieces join the way SentencePiece detokenizes ids: concatenated, the `▁`s at
the start dropped, every other `▁` a space, `<unk>` as ` ⁇ `. Only the source side needs a
SentencePiece model in the graph: TensorFlow Text 2.21 restores two of them in one
SavedModel as one (both with the last model loaded; its kernel-owned resource has no
shared name), so the target never uses one.
"""

import tensorflow as tf

from seq2seq.config.command_schema import DecodingConfig
from seq2seq.decoding import length_bound
from seq2seq.decoding.strategies import decode_n_best, greedy_decode
from seq2seq.serving.normalization import GraphNormalizer
from seq2seq.text.vocabulary import EOS_ID, PAD_ID, Vocabularies, Vocabulary

#: The `serve_text_beam` signature's options: predict's defaults for `decoding=beam`, with
#: every beam returned (`decoding.n_best` = `decoding.beam_size`).
BEAM = {
    "beam_size": DecodingConfig.beam_size,
    "length_penalty": DecodingConfig.length_penalty,
    "n_best": DecodingConfig.beam_size,
}

#: Returned for a symbol the vocabulary does not have (and has no `<unk>` for).
NOT_FOUND = -1


class TextSide(tf.Module):
    """One side's tokenizer and vocabulary, as graph ops (and the resources they hold): the
    tokenizer's class gives its graph form (`seq2seq.text.tokenizers.SymbolGraph`).

    Args:
        vocab: the side's vocabulary.
        name: the side's name (`source` or `target`).
        encodes: whether the side encodes text (the source) or only decodes it.
    """

    def __init__(self, vocab: Vocabulary, name: str, encodes: bool = True):
        super().__init__(name=name)
        self.tokenizer = vocab.splitter
        self.resource = self.tokenizer.graph_resource() if encodes else None
        self.unknown_id = vocab.unknown_id
        # Symbols it lacks look up as NOT_FOUND, to be counted before they become <unk>.
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vocab.tokens), tf.range(vocab.size, dtype=tf.int64), tf.string, tf.int64
            ),
            default_value=NOT_FOUND,
        )
        self.tokens = tf.constant(self.tokenizer.graph_tokens(list(vocab.tokens), vocab.unknown_id))

    def encode(self, texts: tf.Tensor) -> tuple:
        """Strings (batch,) to token ids, ragged (batch, None), int32, and how many symbols
        of each row the vocabulary lacks, int32 (batch,): predict's count (a symbol it
        lacks reads as `<unk>`, or as NOT_FOUND where it has none)."""
        ids = self.tokenizer.graph_encode(texts, self.table.lookup, self.resource)
        # A trained model (subword) reads what it lacks as <unk> itself.
        lacked = self.unknown_id if self.tokenizer.trained else NOT_FOUND
        missing = tf.ragged.map_flat_values(tf.equal, ids, lacked)
        if self.unknown_id is not None:
            ids = tf.ragged.map_flat_values(
                lambda i: tf.where(i == NOT_FOUND, self.unknown_id, i), ids
            )
        return ids, tf.reduce_sum(tf.cast(missing, tf.int32), axis=1)

    def decode(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """Token ids, ragged (batch, None), cut before EOS, to strings (batch,)."""
        symbols = tf.ragged.map_flat_values(lambda i: tf.gather(self.tokens, i), ids)
        return self.tokenizer.graph_join(symbols)


def until_eos(decoded: tf.Tensor) -> tf.RaggedTensor:
    """Decoded ids (batch, max_len) to the symbols before each row's first EOS, ragged."""
    before_eos = tf.cumsum(tf.cast(decoded == EOS_ID, tf.int32), axis=1) == 0
    return tf.ragged.boolean_mask(decoded, tf.logical_and(before_eos, decoded > EOS_ID))


def utf8_check(texts: tf.Tensor):
    """An assertion that every string is UTF-8, as `predict` requires of its input: a
    string that is not would lose its bad bytes (or turn them into U+FFFD) silently.

    A string is UTF-8 exactly when transcoding it, dropping what does not decode,
    leaves it unchanged.
    """
    valid = tf.equal(tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="ignore"), texts)
    return tf.debugging.assert_equal(
        tf.reduce_all(valid), True, message="text: a string that is not UTF-8; allowed: UTF-8 text"
    )


class TextServer(tf.Module):
    """The `serve_text` endpoint and what it needs, for the SavedModel (`export.py`).

    Args:
        model: a Seq2Seq model.
        vocabs: the run's vocabularies.
        bound: the run's length bound (`seq2seq.decoding.length_bound`); None: the
            default, twice the source plus two.
        normalize: the run's `task.normalize`, applied to each source before it splits.
    """

    def __init__(
        self,
        model,
        vocabs: Vocabularies,
        bound: length_bound.LengthBound | None = None,
        normalize: str = "none",
    ):
        super().__init__()
        # Not a child in the SavedModel's object graph: the export saves the model's
        # variables, not its 170 Keras objects (each restored on load, 0.2 s).
        self.model = self._no_dependency(model)
        self.bound = length_bound.DEFAULT if bound is None else bound
        self.normalize = GraphNormalizer(normalize)
        self.source = TextSide(vocabs.source, "source")
        self.target = (
            self.source if vocabs.is_shared else TextSide(vocabs.target, "target", encodes=False)
        )

    def _encoded(self, texts: tf.Tensor) -> tuple:
        """Checked and normalized source strings as padded token ids, which rows are empty,
        and how many symbols of each the vocabulary lacks."""
        with tf.control_dependencies([utf8_check(texts)]):
            texts = tf.identity(texts)
        ids, unknown = self.source.encode(self.normalize(texts))
        missing = tf.reduce_any(ids.flat_values == NOT_FOUND)
        check = tf.debugging.assert_equal(
            missing, False, message="text: a symbol that is not in the source vocabulary"
        )
        with tf.control_dependencies([check]):
            padded = tf.identity(ids.to_tensor(default_value=PAD_ID))
        return padded, ids.row_lengths() == 0, unknown

    def serve_text(self, texts: tf.Tensor) -> dict:
        """Decodes a batch of source strings greedily, each up to its length bound.

        Returns `{"text": strings (batch,), "truncated": bool (batch,), "unknown": int32
        (batch,)}`: `truncated` says that a row reached its bound without ending, its text
        cut short; `unknown` counts the source's symbols the vocabulary lacks (read as
        `<unk>`: the output is a guess), as predict's warnings do. An empty string decodes
        to an empty string (not truncated). A string that is not UTF-8, a symbol the source
        vocabulary does not have (and has no `<unk>` for), or a character the graph would
        normalize otherwise than predict (`seq2seq.serving.normalization`) fails with an
        InvalidArgumentError saying so.
        """
        padded, empty, unknown = self._encoded(texts)

        def greedy(token_ids, max_len):
            return greedy_decode(self.model, token_ids, max_len)

        def decode():
            decoded, truncated = length_bound.bounded(greedy, padded, self.bound)
            text = tf.where(empty, "", self.target.decode(until_eos(decoded)))
            return text, tf.logical_and(truncated, tf.logical_not(empty))

        def nothing():
            return tf.fill(tf.shape(texts), ""), tf.zeros(tf.shape(texts), tf.bool)

        text, truncated = tf.cond(tf.reduce_all(empty), nothing, decode)
        return {"text": text, "truncated": truncated, "unknown": unknown}

    def serve_text_beam(self, texts: tf.Tensor) -> dict:
        """Beam search over a batch of source strings: the `n_best` best hypotheses of each.

        With the options of `BEAM` (predict's `decoding=beam decoding.n_best=5` defaults),
        each row up to its length bound, as predict decodes it.

        Returns `{"texts": strings (batch, n_best), "log_probs": float32 (batch, n_best),
        "lengths": int32 (batch, n_best), "truncated": bool (batch, n_best), "unknown":
        int32 (batch,)}`, best first: each hypothesis's text, log-probability (EOS
        included, as predict prints it), its length in target symbols (EOS not counted),
        and whether it reached its bound without ending; `unknown` as `serve_text`'s. An
        empty string gives empty hypotheses of log-probability 0. Refusals as `serve_text`.
        """
        padded, empty, unknown = self._encoded(texts)
        n_best = BEAM["n_best"]

        def decode():
            bounds = self.bound.tensor(length_bound.source_lengths(padded))
            ids, log_probs = decode_n_best(
                self.model, padded, tf.reduce_max(bounds), BEAM["beam_size"],
                BEAM["length_penalty"], n_best,
            )  # fmt: skip
            ids, truncated = length_bound.cut(ids, bounds)
            flat = until_eos(tf.reshape(ids, [-1, tf.shape(ids)[-1]]))
            text = tf.reshape(self.target.decode(flat), [-1, n_best])
            lengths = tf.reshape(tf.cast(flat.row_lengths(), tf.int32), [-1, n_best])
            gone = empty[:, None]
            return (
                tf.where(gone, "", text),
                tf.where(gone, 0.0, log_probs),
                tf.where(gone, 0, lengths),
                tf.logical_and(truncated, tf.logical_not(gone)),
            )

        def nothing():
            shape = [tf.shape(texts)[0], n_best]
            return (
                tf.fill(shape, ""),
                tf.zeros(shape),
                tf.zeros(shape, tf.int32),
                tf.zeros(shape, tf.bool),
            )

        text, log_probs, lengths, truncated = tf.cond(tf.reduce_all(empty), nothing, decode)
        return {
            "texts": text,
            "log_probs": log_probs,
            "lengths": lengths,
            "truncated": truncated,
            "unknown": unknown,
        }
