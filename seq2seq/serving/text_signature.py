"""The SavedModel's `serve_text` signature: source strings in, decoded strings out, with the
run's tokenizers inside the graph, so that a server needs TensorFlow alone (and, for a
subword vocabulary, TensorFlow Text's SentencePiece op: `import tensorflow_text`).

Each tokenizer does in the graph what it does in Python (`seq2seq.data.tokenizers`):

- `char`: `tf.strings.unicode_split`, one symbol per code point, like `list(text)`;
- `space`: every run of Unicode whitespace (Python's `str.split`: ASCII whitespace,
  U+001C..U+001F, U+0085 and the Unicode separators `\\pZ`) becomes one space, then the
  text splits on it;
- `subword`: TensorFlow Text's `SentencepieceTokenizer` on the run's SentencePiece model,
  whose ids are the framework's token ids.

Symbols become ids through a `tf.lookup.StaticHashTable` (unknown ones to `<unk>`, or
refused where the vocabulary has none); decoded ids become text by a gather and a join.
Subword pieces join the way SentencePiece detokenizes ids: concatenated, the `▁`s at
the start dropped, every other `▁` a space, `<unk>` as ` ⁇ `. Only the source side needs a
SentencePiece model in the graph: TensorFlow Text 2.21 restores two of them in one
SavedModel as one (both with the last model loaded; its kernel-owned resource has no
shared name), so the target never uses one.
"""

import tensorflow as tf

from seq2seq.data.vocabulary import EOS_ID, PAD_ID, Vocabularies, Vocabulary
from seq2seq.evaluation.decoding import default_max_len, greedy_decode

#: Python's str.split() whitespace, as an RE2 class.
WHITESPACE = r"[\s\x{1c}-\x{1f}\x{85}\pZ]+"
#: Returned for a symbol the vocabulary does not have (and has no `<unk>` for).
NOT_FOUND = -1
#: Where a subword `<unk>` goes while its pieces are joined (a private-use character).
UNKNOWN_MARK = "\ue000"


class TextSide(tf.Module):
    """One side's tokenizer and vocabulary, as graph ops (and the resources they hold).

    Args:
        vocab: the side's vocabulary.
        name: the side's name (`source` or `target`).
        encodes: whether the side encodes text (the source) or only decodes it.
    """

    def __init__(self, vocab: Vocabulary, name: str, encodes: bool = True):
        super().__init__(name=name)
        self.tokenizer = vocab.tokenizer
        self.sentencepiece = None
        if vocab.tokenizer == "subword" and encodes:
            import tensorflow_text  # noqa: PLC0415 - only subword vocabularies need it

            self.sentencepiece = tensorflow_text.SentencepieceTokenizer(
                model=vocab.splitter.model_proto
            )
        unknown = NOT_FOUND if vocab.unknown_id is None else vocab.unknown_id
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(vocab.tokens), tf.range(vocab.size, dtype=tf.int64), tf.string, tf.int64
            ),
            default_value=unknown,
        )
        tokens = list(vocab.tokens)
        if vocab.tokenizer == "subword":
            tokens[vocab.unknown_id] = UNKNOWN_MARK  # made " \u2047 " once the spaces are placed
        self.tokens = tf.constant(tokens)
        self.separator = " " if vocab.tokenizer == "space" else ""

    def encode(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Strings (batch,) to token ids, ragged (batch, None), int32."""
        if self.sentencepiece is not None:
            return tf.cast(self.sentencepiece.tokenize(texts), tf.int32)
        if self.tokenizer == "char":
            symbols = tf.strings.unicode_split(texts, "UTF-8")
        else:
            symbols = tf.strings.split(tf.strings.regex_replace(texts, WHITESPACE, " "))
        return tf.cast(tf.ragged.map_flat_values(self.table.lookup, symbols), tf.int32)

    def decode(self, ids: tf.RaggedTensor) -> tf.Tensor:
        """Token ids, ragged (batch, None), cut before EOS, to strings (batch,)."""
        symbols = tf.ragged.map_flat_values(lambda i: tf.gather(self.tokens, i), ids)
        text = tf.strings.reduce_join(symbols, axis=-1, separator=self.separator)
        if self.tokenizer != "subword":
            return text
        text = tf.strings.regex_replace(text, "^\u2581+", "")
        text = tf.strings.regex_replace(text, "\u2581", " ")
        return tf.strings.regex_replace(text, UNKNOWN_MARK, " \u2047 ")


def until_eos(decoded: tf.Tensor) -> tf.RaggedTensor:
    """Decoded ids (batch, max_len) to the symbols before each row's first EOS, ragged."""
    before_eos = tf.cumsum(tf.cast(decoded == EOS_ID, tf.int32), axis=1) == 0
    return tf.ragged.boolean_mask(decoded, tf.logical_and(before_eos, decoded > EOS_ID))


class TextServer(tf.Module):
    """The `serve_text` endpoint and what it needs, for `keras.export.ExportArchive`.

    Args:
        model: a Seq2Seq model.
        vocabs: the run's vocabularies.
    """

    def __init__(self, model, vocabs: Vocabularies):
        super().__init__()
        self.model = model
        self.source = TextSide(vocabs.source, "source")
        self.target = (
            self.source if vocabs.is_shared else TextSide(vocabs.target, "target", encodes=False)
        )

    def serve_text(self, texts: tf.Tensor) -> dict:
        """Decodes a batch of source strings greedily; returns `{"text": strings}`.

        An empty string decodes to an empty string; a symbol the source vocabulary does
        not have (and has no `<unk>` for) fails with an InvalidArgumentError naming it.
        """
        ids = self.source.encode(texts)
        missing = tf.reduce_any(ids.flat_values == NOT_FOUND)
        check = tf.debugging.assert_equal(
            missing, False, message="text: a symbol that is not in the source vocabulary"
        )
        with tf.control_dependencies([check]):
            padded = tf.identity(ids.to_tensor(default_value=PAD_ID))
        width = tf.shape(padded)[1]
        empty = ids.row_lengths() == 0

        def decode():
            decoded = greedy_decode(self.model, padded, default_max_len(width))
            return tf.where(empty, "", self.target.decode(until_eos(decoded)))

        def nothing():
            return tf.fill(tf.shape(texts), "")

        return {"text": tf.cond(tf.reduce_all(empty), nothing, decode)}
