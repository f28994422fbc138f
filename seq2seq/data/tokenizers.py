"""How text becomes symbols and symbols text again: `char`, `space`, `subword`.

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

from seq2seq_config.config.constraints import dispatch_table
from seq2seq_config.config.schema import TOKENIZERS
from seq2seq_config.tokens import BOS_ID, EOS_ID, PAD_ID, SUBWORD_UNKNOWN_ID

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


class CharTokenizer:
    """Every character a symbol."""

    name = "char"

    def split(self, text: str) -> list[str]:
        return list(text)

    def join(self, symbols: Iterable[str]) -> str:
        return "".join(symbols)


class SpaceTokenizer:
    """Symbols separated by whitespace."""

    name = "space"

    def split(self, text: str) -> list[str]:
        return text.split()

    def join(self, symbols: Iterable[str]) -> str:
        return " ".join(symbols)


class SubwordTokenizer:
    """SentencePiece pieces, from a trained model.

    Args:
        model_proto: the serialized SentencePiece model.
    """

    name = "subword"

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)

    def split(self, text: str) -> list[str]:
        return self.processor.encode(text, out_type=str)

    def join(self, symbols: Iterable[str]) -> str:
        # Through the pieces' ids: SentencePiece's decoding of ids is the one the
        # SavedModel's serve_text reproduces (decode_pieces treats some pieces otherwise).
        return self.processor.decode([self.processor.piece_to_id(p) for p in symbols])

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


def make_tokenizer(name: str, model_proto: bytes | None = None):
    """The tokenizer called `name`; `subword` needs its trained model."""
    tokenizer_class = TOKENIZER_CLASSES[name]
    if tokenizer_class is not SubwordTokenizer:
        return tokenizer_class()
    if model_proto is None:
        raise ValueError("a subword tokenizer needs its SentencePiece model")
    return tokenizer_class(model_proto)
