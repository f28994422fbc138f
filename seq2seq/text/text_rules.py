"""Each tokenizer's text rules, without TensorFlow: what the checks before training and the
reading of files of pairs need to know of a tokenizer, one class per name.

`seq2seq.text.tokenizers` builds each tokenizer on its class here (adding the graph form
that the SavedModel's `serve_text` runs), so that one class per tokenizer holds its rules
for both halves of the code. Nothing compares tokenizer names: code asks `text_rules(name)`.

A class says:

- `split` and `join`: text to symbols and back (a `trained` tokenizer splits only once its
  model is trained on the data: `seq2seq.text.tokenizers`);
- `is_empty`, `symbol_count`, `source_key`: when a side of a pair is empty, how many symbols
  it has (None where only a trained model knows), and what makes two sources the same;
- `input_words`: how `predict` describes a line of input ("symbols separated by spaces");
- `counts_characters`: whether error rates count characters (pieces are no unit a reader
  counts) rather than the tokenizer's symbols;
- `trained`: whether its symbols come from a model trained on the training split (its
  vocabulary size applies; one vocabulary cannot share its pieces with another tokenizer's
  symbols; it needs a piece for each character).

Before a source splits, it is normalized as `task.normalize` says (`NORMALIZERS`), once,
where text comes in: as a file of pairs is read (`text_files.read_pairs`), as predict
reads its input, and in the SavedModel's text signatures (`seq2seq.serving.normalization`).
"""

import unicodedata
from collections.abc import Callable, Iterable

from seq2seq.config.constraints import dispatch_table
from seq2seq.config.task_schema import NORMALIZATIONS, TOKENIZERS


class TextRules:
    """Symbols separated by whitespace: the rules the other classes change."""

    name = "space"
    input_words = "separated by spaces"
    counts_characters = False
    trained = False

    def split(self, text: str) -> list[str]:
        return text.split()

    def join(self, symbols: Iterable[str]) -> str:
        return " ".join(symbols)

    def is_empty(self, text: str) -> bool:
        """Whether a side of a pair has no symbol."""
        return not text.strip()

    def symbol_count(self, text: str) -> int | None:
        """How many symbols `split` makes of `text`; None if only a trained model knows."""
        return None if self.trained else len(self.split(text))

    def source_key(self, text: str) -> object:
        """What makes two sources the same (held-out splits hash its `repr`)."""
        return tuple(text.split())


class SpaceRules(TextRules):
    """Symbols separated by whitespace; they join with one space."""


class CharRules(TextRules):
    """Every character a symbol (spaces too); symbols join with nothing."""

    name = "char"
    input_words = "one character each"

    def split(self, text: str) -> list[str]:
        return list(text)

    def join(self, symbols: Iterable[str]) -> str:
        return "".join(symbols)

    def is_empty(self, text: str) -> bool:
        return text == ""

    def source_key(self, text: str) -> object:
        return text


class SubwordRules(TextRules):
    """SentencePiece pieces, from a model trained on the training split."""

    name = "subword"
    input_words = "as text"
    counts_characters = True
    trained = True

    def split(self, text: str) -> list[str]:
        raise TypeError(
            "a subword tokenizer splits with its trained model (seq2seq.text.tokenizers)"
        )

    def join(self, symbols: Iterable[str]) -> str:
        raise TypeError(
            "a subword tokenizer joins with its trained model (seq2seq.text.tokenizers)"
        )


#: The text rules of each tokenizer name (`task.tokenizer`'s choices, `TOKENIZERS`).
TEXT_RULES = dispatch_table(
    "task.tokenizer", TOKENIZERS, {"char": CharRules, "space": SpaceRules, "subword": SubwordRules}
)


def text_rules(name: str) -> TextRules:
    """The text rules of the tokenizer called `name`.

    Raises:
        ValueError: for a name without a class in `TEXT_RULES`.
    """
    if name not in TEXT_RULES:
        raise ValueError(f"tokenizer {name!r} has no text rules; allowed: {', '.join(TEXT_RULES)}")
    return TEXT_RULES[name]()


def _nfkc_lower(text: str) -> str:
    # NFKC first: a compatibility character (a full-width `Ａ`) becomes the letter that
    # lower case then knows.
    return unicodedata.normalize("NFKC", text).lower()


#: What each `task.normalize` does to a source, in Python (the graph's are in
#: `seq2seq.serving.normalization`).
NORMALIZERS = dispatch_table(
    "task.normalize",
    NORMALIZATIONS,
    {
        "none": str,
        "lower": str.lower,
        "nfc": lambda text: unicodedata.normalize("NFC", text),
        "nfkc": lambda text: unicodedata.normalize("NFKC", text),
        "nfkc_lower": _nfkc_lower,
    },
)


def run_normalization(task) -> str:
    """A run's `task.normalize` (`none` for a run saved before the key was).

    Args:
        task: the run's `task` config (from its config.yaml).

    Returns:
        A name in `NORMALIZERS`.
    """
    return task.get("normalize") or "none"


def normalizer(name: str) -> Callable[[str], str]:
    """The function that normalizes a source as `task.normalize=name` says.

    Raises:
        ValueError: for a name without a function in `NORMALIZERS`.
    """
    if name not in NORMALIZERS:
        raise ValueError(
            f"task.normalize={name!r} has no function; allowed: {', '.join(NORMALIZERS)}"
        )
    return NORMALIZERS[name]
