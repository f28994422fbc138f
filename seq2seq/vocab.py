"""The token vocabulary shared by encoder and decoder.

Ids 0, 1 and 2 are PAD, BOS and EOS; the task's symbols follow. A user writes a symbol
as its text (for the toy tasks, its number `0 .. vocab_size-1`).
"""

import json
from pathlib import Path
from typing import Iterable, List, Sequence

import numpy as np

PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
FIRST_SYMBOL_ID = len(SPECIAL_TOKENS)


class Vocabulary:
    """Maps symbols (strings) to token ids and back.

    Args:
        symbols: the task's symbols in id order; they get ids 3, 4, ...

    Raises:
        ValueError: if a symbol repeats or clashes with a special token.
    """

    def __init__(self, symbols: Sequence[str]):
        self.symbols = [str(s) for s in symbols]
        self.tokens = list(SPECIAL_TOKENS) + self.symbols
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise ValueError(
                f"Vocabulary symbols must be distinct and differ from {SPECIAL_TOKENS}. "
                f"Received: symbols={self.symbols}"
            )

    @classmethod
    def numbered(cls, vocab_size: int) -> "Vocabulary":
        """The vocabulary of the toy tasks: symbols "0" .. "vocab_size-1"."""
        return cls([str(i) for i in range(vocab_size)])

    @property
    def size(self) -> int:
        """Number of token ids, special tokens included: the model's output width."""
        return len(self.tokens)

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.tokens == self.tokens

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
        """Symbols to token ids (no BOS or EOS added)."""
        return [self._ids[s] for s in symbols]

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
        Path(path).write_text(json.dumps({"symbols": self.symbols}, indent=1))

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        """Reads a vocabulary written by `save`."""
        return cls(json.loads(Path(path).read_text())["symbols"])
