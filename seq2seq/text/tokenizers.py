"""How text becomes symbols and symbols text again: `char`, `space`, `subword`.

Each tokenizer is one class: its text rules (`seq2seq.text.text_rules`, which the
checks before TensorFlow read too) and its graph form (`SymbolGraph`: the same split and
join as TensorFlow ops, for the SavedModel's `serve_text`).

- `char`: every character is a symbol (spaces too); symbols join with nothing.
- `space`: symbols are separated by whitespace; they join with one space.
- `subword`: SentencePiece pieces (unigram or BPE), trained on the training split alone
  by the `sentencepiece` library; pieces detokenize back to text. Its model reserves
  ids 0..3 for PAD, BOS, EOS and `<unk>`, the framework's own layout, so a piece's id is
  the framework's token id and TensorFlow Text's SentencePiece op gives the same ids.
"""

import io
from collections.abc import Iterable, Iterator

import sentencepiece as spm

from seq2seq.base.tokens import BOS_ID, EOS_ID, PAD_ID, SUBWORD_UNKNOWN_ID
from seq2seq.config.constraints import dispatch_table
from seq2seq.config.schema import TOKENIZERS
from seq2seq.text.text_rules import TEXT_RULES, CharRules, SpaceRules, SubwordRules

#: SentencePiece's special pieces, in the framework's id order: PAD, BOS, EOS, <unk>.
SUBWORD_SPECIALS = {
    "pad_id": PAD_ID,
    "bos_id": BOS_ID,
    "eos_id": EOS_ID,
    "unk_id": SUBWORD_UNKNOWN_ID,
}
#: Sentences sampled from the training text to train a subword model (SentencePiece
#: keeps them in memory): enough for a vocabulary, bounded for files of any size.
SUBWORD_SAMPLE = 1_000_000
#: Python's str.split() whitespace, as an RE2 class (the `space` tokenizer in the graph).
WHITESPACE = r"[\s\x{1c}-\x{1f}\x{85}\pZ]+"
#: Where a subword `<unk>` goes while its pieces are joined in the graph (a private-use
#: character).
UNKNOWN_MARK = "\ue000"


class SymbolGraph:
    """A tokenizer's graph form: what the SavedModel's `serve_text` runs for it
    (`seq2seq.serving.text_signature`), TensorFlow ops that do what `split` and `join` do.
    The defaults suit symbols that a split of the text gives (`graph_split`, then a table
    lookup; joined with `separator`); a tokenizer with a model (`subword`) overrides
    `graph_resource` and `graph_encode`. TensorFlow loads only when they are called."""

    #: What `join` puts between symbols in the graph.
    separator = ""

    def graph_resource(self):
        """A resource the graph's split needs (kept by the signature's module), or None."""
        return None

    def graph_split(self, texts, resource):
        """Strings (batch,) to symbols, ragged strings (batch, None)."""
        raise NotImplementedError(f"tokenizer {self.name!r}: no graph_split")

    def graph_encode(self, texts, lookup, resource):
        """Strings (batch,) to token ids, ragged (batch, None), int32: `graph_split`, then
        `lookup` (symbols to ids)."""
        import tensorflow as tf  # noqa: PLC0415 - only serving builds graphs

        symbols = self.graph_split(texts, resource)
        return tf.cast(tf.ragged.map_flat_values(lookup, symbols), tf.int32)

    def graph_tokens(self, tokens: list[str], unknown_id: int | None) -> list[str]:
        """The strings the graph gathers for each token id before `graph_join`."""
        return tokens

    def graph_join(self, symbols):
        """Symbols, ragged strings (batch, None), to strings (batch,), as `join`."""
        import tensorflow as tf  # noqa: PLC0415 - only serving builds graphs

        return tf.strings.reduce_join(symbols, axis=-1, separator=self.separator)


class CharTokenizer(CharRules, SymbolGraph):
    """Every character a symbol: `tf.strings.unicode_split` in the graph, one per code point."""

    def graph_split(self, texts, resource):
        import tensorflow as tf  # noqa: PLC0415 - only serving builds graphs

        return tf.strings.unicode_split(texts, "UTF-8")


class SpaceTokenizer(SpaceRules, SymbolGraph):
    """Symbols separated by whitespace: in the graph, every run of Unicode whitespace becomes
    one space (`WHITESPACE`, Python's `str.split`), then the text splits on it."""

    separator = " "

    def graph_split(self, texts, resource):
        import tensorflow as tf  # noqa: PLC0415 - only serving builds graphs

        return tf.strings.split(tf.strings.regex_replace(texts, WHITESPACE, " "))


class SubwordTokenizer(SubwordRules, SymbolGraph):
    """SentencePiece pieces, from a trained model; in the graph, TensorFlow Text's
    `SentencepieceTokenizer` on the same model (whose ids are the framework's token ids),
    and pieces joined the way SentencePiece detokenizes ids.

    Args:
        model_proto: the serialized SentencePiece model.
    """

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)

    def split(self, text: str) -> list[str]:
        return self.processor.encode(text, out_type=str)

    def join(self, symbols: Iterable[str]) -> str:
        # Through the pieces' ids: SentencePiece's decoding of ids is the one the
        # SavedModel's serve_text reproduces (decode_pieces treats some pieces otherwise).
        return self.processor.decode([self.processor.piece_to_id(p) for p in symbols])

    def graph_resource(self):
        import tensorflow_text  # noqa: PLC0415 - only subword vocabularies need it

        return tensorflow_text.SentencepieceTokenizer(model=self.model_proto)

    def graph_encode(self, texts, lookup, resource):
        import tensorflow as tf  # noqa: PLC0415 - only serving builds graphs

        return tf.cast(resource.tokenize(texts), tf.int32)

    def graph_tokens(self, tokens: list[str], unknown_id: int | None) -> list[str]:
        tokens = list(tokens)
        tokens[unknown_id] = UNKNOWN_MARK  # made " \u2047 " once the spaces are placed
        return tokens

    def graph_join(self, symbols):
        """Concatenated, the `▁`s at the start dropped, every other `▁` a space, `<unk>`
        as ` ⁇ `."""
        import tensorflow as tf  # noqa: PLC0415 - only serving builds graphs

        text = super().graph_join(symbols)
        text = tf.strings.regex_replace(text, "^\u2581+", "")
        text = tf.strings.regex_replace(text, "\u2581", " ")
        return tf.strings.regex_replace(text, UNKNOWN_MARK, " \u2047 ")

    def pieces(self) -> list[str]:
        """The model's pieces after PAD, BOS and EOS, `<unk>` first: the vocabulary's symbols."""
        first = SUBWORD_SPECIALS["unk_id"]
        return [
            self.processor.id_to_piece(i) for i in range(first, self.processor.get_piece_size())
        ]


def train_subword(texts: Iterator[str], vocab_size: int, model_type: str) -> SubwordTokenizer:
    """Trains a SentencePiece model on `texts`.

    `vocab_size` is an upper bound (`hard_vocab_limit=False`): on little text,
    SentencePiece stops at the pieces the text supports instead of failing.

    Args:
        texts: the training text, one sequence each.
        vocab_size: the most pieces, specials included.
        model_type: `unigram` or `bpe`.

    Raises:
        ValueError: if `vocab_size` is smaller than the characters need (SentencePiece's
            own message says by how much).
    """
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=texts,
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            hard_vocab_limit=False,
            character_coverage=1.0,
            input_sentence_size=SUBWORD_SAMPLE,
            shuffle_input_sentence=True,
            minloglevel=2,  # its progress report would fill the log
            **SUBWORD_SPECIALS,
        )
    except RuntimeError as error:
        raise ValueError(str(error).splitlines()[-1]) from None
    return SubwordTokenizer(model.getvalue())


#: The tokenizer class of each name (`make_tokenizer` gives a subword one its model).
TOKENIZER_CLASSES = dispatch_table(
    "task.tokenizer",
    TOKENIZERS,
    {"char": CharTokenizer, "space": SpaceTokenizer, "subword": SubwordTokenizer},
)
# One class per tokenizer: each one builds on its name's text rules, which the checks
# before TensorFlow read (`seq2seq.text.text_rules.TEXT_RULES`).
for _name, _class in TOKENIZER_CLASSES.items():
    if not issubclass(_class, TEXT_RULES[_name]):
        raise RuntimeError(
            f"tokenizer {_name!r}: {_class.__name__} must build on {TEXT_RULES[_name].__name__}"
        )


def make_tokenizer(name: str, model_proto: bytes | None = None):
    """The tokenizer called `name`; a trained one (`subword`) needs its model.

    Raises:
        ValueError: for a name without a class in `TOKENIZER_CLASSES`, or a trained
            tokenizer without its model.
    """
    if name not in TOKENIZER_CLASSES:
        raise ValueError(
            f"tokenizer {name!r} has no class; allowed: {', '.join(TOKENIZER_CLASSES)}"
        )
    tokenizer_class = TOKENIZER_CLASSES[name]
    if not tokenizer_class.trained:
        return tokenizer_class()
    if model_proto is None:
        raise ValueError(f"a {name} tokenizer needs its trained model")
    return tokenizer_class(model_proto)
