"""The token vocabulary shared by encoder and decoder.

Ids 0, 1 and 2 are PAD, BOS and EOS; the task's symbols follow. A user writes a symbol
as its text (for the toy tasks, its number `0 .. vocab_size-1`), and a sequence as its
symbols separated by spaces (tokenizer `space`) or one character each (`char`).
"""

import json
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from seq2seq_config.constraints import choices, dispatch_table
from seq2seq_config.files import atomic_write_text
from seq2seq_config.schema import TaskConfig

PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
FIRST_SYMBOL_ID = len(SPECIAL_TOKENS)
#: The symbol standing for every symbol a vocabulary built from data did not keep.
UNKNOWN = "<unk>"

#: How each `task.tokenizer` splits text into symbols.
SPLITTERS: Dict[str, Callable[[str], List[str]]] = dispatch_table(
    "task.tokenizer",
    choices(TaskConfig, "tokenizer"),
    {"char": list, "space": str.split},
)
#: How each tokenizer joins symbols back into text.
JOINERS = dispatch_table("task.tokenizer", choices(TaskConfig, "tokenizer"), {"char": "", "space": " "})


def split_text(text: str, tokenizer: str) -> List[str]:
    """Text to symbols: one per character (`char`), or separated by spaces (`space`)."""
    return SPLITTERS[tokenizer](text)


class Vocabulary:
    """Maps symbols (strings) to token ids and back.

    Args:
        symbols: the task's symbols in id order; they get ids 3, 4, ... If `<unk>` is
            among them, symbols not in the vocabulary encode as it.
        tokenizer: how text splits into symbols: `space` or `char`.
        max_source_len: the longest source the model was trained on, if known.

    Raises:
        ValueError: if a symbol repeats or clashes with a special token.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        tokenizer: str = "space",
        max_source_len: Optional[int] = None,
    ):
        if tokenizer not in SPLITTERS:
            raise ValueError(f"tokenizer={tokenizer!r}; allowed: {', '.join(SPLITTERS)}")
        self.tokenizer = tokenizer
        self.max_source_len = max_source_len
        self.symbols = [str(s) for s in symbols]
        self.tokens = list(SPECIAL_TOKENS) + self.symbols
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise ValueError(
                f"Vocabulary symbols must be distinct and differ from {SPECIAL_TOKENS}. "
                f"Received: symbols={self.symbols}"
            )

    @classmethod
    def from_data(
        cls, sequences: Iterable[Sequence[str]], min_freq: int, tokenizer: str, max_source_len=None
    ) -> "Vocabulary":
        """A vocabulary of the symbols seen at least `min_freq` times, and `<unk>`.

        Symbols are ordered by falling frequency, ties alphabetically, so that the same
        data always gives the same ids.
        """
        counts = Counter(symbol for sequence in sequences for symbol in sequence)
        kept = sorted((s for s, n in counts.items() if n >= min_freq), key=lambda s: (-counts[s], s))
        return cls([UNKNOWN] + kept, tokenizer, max_source_len)

    @property
    def unknown_id(self) -> Optional[int]:
        """The id of `<unk>`, or None if this vocabulary has none (every symbol is known)."""
        return self._ids.get(UNKNOWN)

    def split(self, text: str) -> List[str]:
        """Text to symbols, with this vocabulary's tokenizer."""
        return split_text(text, self.tokenizer)

    def join(self, symbols: Iterable[str]) -> str:
        """Symbols to text, the inverse of `split`."""
        return JOINERS[self.tokenizer].join(symbols)

    @property
    def size(self) -> int:
        """Number of token ids, special tokens included: the model's output width."""
        return len(self.tokens)

    def __len__(self) -> int:
        return self.size

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

    def encode(self, symbols: Iterable[str]) -> List[int]:
        """Symbols to token ids (no BOS or EOS added); unknown ones to `<unk>` if there is one.

        Raises:
            KeyError: for a symbol not in a vocabulary without `<unk>`.
        """
        if self.unknown_id is None:
            return [self._ids[s] for s in symbols]
        return [self._ids.get(s, self.unknown_id) for s in symbols]

    def decode(self, token_ids: Iterable[int]) -> List[str]:
        """Token ids to symbols, stopping at the first EOS and skipping PAD and BOS."""
        out = []
        for token_id in np.asarray(list(token_ids)).tolist():
            if token_id == EOS_ID:
                break
            if token_id in (PAD_ID, BOS_ID):
                continue
            out.append(self.tokens[token_id])
        return out

    def save(self, path: Path) -> None:
        """Writes the vocabulary as JSON, so that later commands decode the same way."""
        atomic_write_text(
            path,
            json.dumps(
                {
                    "symbols": self.symbols,
                    "tokenizer": self.tokenizer,
                    "max_source_len": self.max_source_len,
                },
                indent=1,
            )
        )

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        """Reads a vocabulary written by `save`."""
        saved = json.loads(Path(path).read_text())
        return cls(saved["symbols"], saved.get("tokenizer", "space"), saved.get("max_source_len"))
