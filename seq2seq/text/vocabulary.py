"""Vocabularies: symbols to token ids and back, one per side or one shared by both.

Ids 0, 1 and 2 are PAD, BOS and EOS; the task's symbols follow. A user writes a symbol
as its text (for the toy tasks, its number `0 .. vocab_size-1`), and a sequence as text
that the side's tokenizer splits into symbols (`seq2seq.text.tokenizers`).
"""

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from seq2seq.base.files import atomic_write, atomic_write_text
from seq2seq.base.names import (
    SHARED_SUBWORD_MODEL,
    SOURCE_SUBWORD_MODEL,
    TARGET_SUBWORD_MODEL,
    VOCAB_FILE,
)

# The special ids are seq2seq.base.tokens' (the checks before TensorFlow read them too);
# they are importable from here and from `seq2seq` as well.
from seq2seq.base.tokens import (  # noqa: F401 - re-exported
    BOS_ID,
    EOS_ID,
    FIRST_SYMBOL_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNKNOWN,
)
from seq2seq.text.tokenizers import SubwordTokenizer, make_tokenizer


class Vocabulary:
    """Maps symbols (strings) to token ids and back, for one side.

    Args:
        symbols: the side's symbols in id order; they get ids 3, 4, ... If `<unk>` is
            among them, symbols not in the vocabulary encode as it.
        tokenizer: how text splits into symbols: a name in `TOKENIZER_CLASSES` (`char`,
            `space` or `subword`).
        max_source_len: the longest source the model was trained on, if known.
        subword_model: the trained model of a `subword` vocabulary (its pieces are the
            symbols).

    Raises:
        ValueError: if a symbol repeats or clashes with a special token.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        tokenizer: str = "space",
        max_source_len: int | None = None,
        subword_model: bytes | None = None,
    ):
        self.splitter = make_tokenizer(tokenizer, subword_model)
        self.tokenizer = tokenizer
        self.max_source_len = max_source_len
        self.symbols = [str(s) for s in symbols]
        self.tokens = list(SPECIAL_TOKENS) + self.symbols
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise ValueError(
                f"Vocabulary symbols must be distinct and differ from {SPECIAL_TOKENS}. "
                f"Received: symbols={self.symbols[:20]}"
            )

    @classmethod
    def from_counts(
        cls, counts: Counter, min_freq: int, tokenizer: str, max_source_len=None
    ) -> "Vocabulary":
        """A vocabulary of the symbols counted at least `min_freq` times, and `<unk>`.

        Symbols are ordered by falling count, ties alphabetically, so that the same data
        always gives the same ids.
        """
        kept = sorted(
            (s for s, n in counts.items() if n >= min_freq), key=lambda s: (-counts[s], s)
        )
        return cls([UNKNOWN] + [s for s in kept if s != UNKNOWN], tokenizer, max_source_len)

    def extended(self, counts: Counter, min_freq: int) -> "Vocabulary":
        """This vocabulary with the counted symbols it lacks appended: every id it had
        keeps its symbol, so a model trained on it keeps its rows (fine-tuning).

        A subword vocabulary is its SentencePiece model's pieces and stays as it is.

        Args:
            counts: symbol counts of the new training data.
            min_freq: the fewest times a new symbol must be seen to be appended.
        """
        if self.splitter.trained:
            return self
        known = set(self.tokens)
        new = Vocabulary.from_counts(
            Counter({s: n for s, n in counts.items() if s not in known}), min_freq, self.tokenizer
        ).symbols
        return Vocabulary(
            self.symbols + [s for s in new if s != UNKNOWN], self.tokenizer, self.max_source_len
        )

    @classmethod
    def from_subword(cls, tokenizer: SubwordTokenizer, max_source_len=None) -> "Vocabulary":
        """The vocabulary of a trained SentencePiece model: its pieces, `<unk>` first."""
        return cls(tokenizer.pieces(), "subword", max_source_len, tokenizer.model_proto)

    @property
    def unknown_id(self) -> int | None:
        """The id of `<unk>`, or None if this vocabulary has none (every symbol is known)."""
        return self._ids.get(UNKNOWN)

    def split(self, text: str) -> list[str]:
        """Text to symbols, with this vocabulary's tokenizer."""
        return self.splitter.split(text)

    def join(self, symbols: Iterable[str]) -> str:
        """Symbols to text, the inverse of `split` (detokenized, for subwords)."""
        return self.splitter.join(symbols)

    @property
    def size(self) -> int:
        """Number of token ids, special tokens included: an embedding's or the logits' width."""
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and other.tokens == self.tokens
            and other.tokenizer == self.tokenizer
        )

    def describe(self) -> str:
        """The symbols in a few words, for error messages."""
        if self.symbols == [str(i) for i in range(len(self.symbols))]:
            return f"the numbers 0 .. {len(self.symbols) - 1}"
        shown = ", ".join(repr(s) for s in self.symbols[:8])
        more = f", ... ({len(self.symbols)} symbols)" if len(self.symbols) > 8 else ""
        return shown + more

    def token_id(self, symbol: str) -> int:
        """The id of one symbol.

        Raises:
            KeyError: if the symbol is not in the vocabulary.
        """
        return self._ids[symbol]

    def encode(self, symbols: Iterable[str]) -> list[int]:
        """Symbols to token ids (no BOS or EOS added); unknown ones to `<unk>` if there is one.

        Raises:
            KeyError: for a symbol not in a vocabulary without `<unk>`.
        """
        ids, unknown = self._ids, self.unknown_id
        if unknown is None:
            return [ids[s] for s in symbols]
        return [ids.get(s, unknown) for s in symbols]

    def encode_text(self, text: str) -> list[int]:
        """Text to token ids, through the tokenizer."""
        return self.encode(self.split(text))

    def decode(self, token_ids: Iterable[int]) -> list[str]:
        """Token ids to symbols, stopping at the first EOS and skipping PAD and BOS."""
        out = []
        for token_id in np.asarray(list(token_ids)).tolist():
            if token_id == EOS_ID:
                break
            if token_id in (PAD_ID, BOS_ID):
                continue
            out.append(self.tokens[token_id])
        return out

    def decode_text(self, token_ids: Iterable[int]) -> str:
        """Token ids to text: `decode`, then the tokenizer's join."""
        return self.join(self.decode(token_ids))

    def to_json(self, model_file: str | None) -> dict:
        """What `save` writes of this vocabulary; a subword model goes to `model_file`."""
        saved = {
            "symbols": self.symbols,
            "tokenizer": self.tokenizer,
            "max_source_len": self.max_source_len,
        }
        if model_file is not None:
            saved["subword_model"] = model_file
        return saved

    @classmethod
    def from_json(cls, saved: dict, directory: Path) -> "Vocabulary":
        """A vocabulary from `to_json`'s dict, its subword model read from `directory`."""
        model = saved.get("subword_model")
        return cls(
            saved["symbols"],
            saved.get("tokenizer", "space"),
            saved.get("max_source_len"),
            (Path(directory) / model).read_bytes() if model else None,
        )


@dataclass(frozen=True)
class Vocabularies:
    """The source's and the target's vocabularies: one object for both when shared."""

    source: Vocabulary
    target: Vocabulary

    @classmethod
    def shared(cls, vocab: Vocabulary) -> "Vocabularies":
        """One vocabulary for both sides (the toy tasks, `task.shared_vocab=true`)."""
        return cls(vocab, vocab)

    @property
    def tokenizers(self) -> tuple:
        """(source, target) tokenizer names: how a file of pairs is read for them."""
        return (self.source.tokenizer, self.target.tokenizer)

    @property
    def is_shared(self) -> bool:
        return self.source is self.target

    def model_sizes(self) -> tuple:
        """`(vocab_size, target_vocab_size)` as the model takes them: the target's is None
        when both sides share one vocabulary (and one embedding)."""
        return self.source.size, None if self.is_shared else self.target.size

    def save(self, directory: Path) -> None:
        """Writes `vocab.json` (a shared vocabulary as one, else `source` and `target`) and
        any subword model beside it, so that later commands decode the same way."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)

        def model_file(vocab: Vocabulary, name: str) -> str | None:
            if not vocab.splitter.trained:
                return None
            with atomic_write(directory / name) as temporary:
                temporary.write_bytes(vocab.splitter.model_proto)
            return name

        if self.is_shared:
            saved = self.source.to_json(model_file(self.source, SHARED_SUBWORD_MODEL))
        else:
            saved = {
                "source": self.source.to_json(model_file(self.source, SOURCE_SUBWORD_MODEL)),
                "target": self.target.to_json(model_file(self.target, TARGET_SUBWORD_MODEL)),
            }
        atomic_write_text(directory / VOCAB_FILE, json.dumps(saved, indent=1))

    @classmethod
    def load(cls, path: Path) -> "Vocabularies":
        """Reads `vocab.json` written by `save` (or by runs that had one vocabulary only)."""
        path = Path(path)
        saved = json.loads(path.read_text())
        if "source" in saved:
            return cls(
                Vocabulary.from_json(saved["source"], path.parent),
                Vocabulary.from_json(saved["target"], path.parent),
            )
        return cls.shared(Vocabulary.from_json(saved, path.parent))


def vocabulary_parent(cfg: DictConfig) -> str | None:
    """The run whose vocabularies and length bound this run starts from: `task.vocab_from`,
    else `trainer.init_from`'s parent on a file of pairs, else None."""
    if cfg.task.get("vocab_from") is not None:
        return cfg.task.vocab_from
    if cfg.task.name == "tsv":
        return cfg.trainer.init_from
    return None
