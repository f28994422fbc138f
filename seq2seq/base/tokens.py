"""The special token ids, written once for both halves: the vocabulary and the model
(`seq2seq.text.vocabulary`, which re-exports them) and the checks that run before
TensorFlow (a subword vocabulary's least size, the memory estimate, `decoding.top_k`).

Ids 0, 1 and 2 are PAD, BOS and EOS; a task's symbols follow from `FIRST_SYMBOL_ID`. A
vocabulary built from data holds `<unk>` as its first symbol; a subword model's pieces
start with it too, so that SentencePiece's ids are the framework's.
"""

PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
#: The special tokens, in id order.
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
#: The id of a vocabulary's first symbol: the specials come before it.
FIRST_SYMBOL_ID = len(SPECIAL_TOKENS)
#: The symbol standing for every symbol a vocabulary built from data did not keep.
UNKNOWN = "<unk>"
#: The id of `<unk>` in a subword vocabulary: its first piece.
SUBWORD_UNKNOWN_ID = FIRST_SYMBOL_ID
#: SentencePiece's meta pieces, which every subword model holds besides the text's own:
#: PAD, BOS, EOS and `<unk>`.
SUBWORD_META_PIECES = FIRST_SYMBOL_ID + 1
