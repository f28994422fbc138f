"""The schema of the `task` group: what to learn, a generated toy task or a file of pairs.

Apart from `schema.py`, which registers it with the other groups, to keep each module to
one group's worth of fields and their help texts (docs/configuration.md is generated from
them).
"""

from dataclasses import dataclass

from seq2seq.config.constraints import (
    described,
    filesystem_path,
    integer,
    one_of,
    path_list,
    weight_list,
)

#: The generated toy tasks; `tsv` reads a file instead.
GENERATED_TASKS = ("reverse", "copy", "sort", "reverse_prefix", "addition")
#: How text becomes symbols (task.tokenizer, task.source_tokenizer, task.target_tokenizer).
TOKENIZERS = ("char", "space", "subword")
#: How each source is normalized as it is read, before it splits into symbols
#: (task.normalize); the functions are `seq2seq.text.text_rules.NORMALIZERS`.
NORMALIZATIONS = ("none", "lower", "nfc", "nfkc", "nfkc_lower")
#: The size of a subword vocabulary when task.*_vocab_size is null.
DEFAULT_SUBWORD_VOCAB = 8000


@dataclass
class TaskConfig:
    """What to learn: a generated toy task, or your own file of pairs (`tsv`).

    Symbols of the generated tasks are written as numbers `0 .. vocab_size-1`; source
    lengths are drawn uniformly from `min_source_symbols .. max_source_symbols` (for `addition`, the number of
    digits of each operand).
    """

    name: str = one_of(
        "reverse",
        GENERATED_TASKS + ("tsv",),
        help="The task (group `task/`): a generated toy task, or `tsv`, your own files of pairs (docs/data.md).",
    )
    vocab_size: int = integer(
        10,
        minimum=1,
        help="Generated tasks: the number of symbols, which a user writes as `0 .. vocab_size-1` (for `addition`, the base).",
    )
    min_source_symbols: int = integer(
        3,
        minimum=1,
        help="Generated tasks: the shortest source; source lengths are drawn uniformly from `min_source_symbols .. max_source_symbols` (for `addition`, the digits of each operand).",
    )
    max_source_symbols: int = integer(
        10,
        minimum=1,
        help="Generated tasks: the longest source (for `addition`, the digits of each operand).",
    )
    train_size: int = integer(40_000, minimum=1, help="Generated tasks: training sequences.")
    val_size: int = integer(
        1_000,
        minimum=1,
        help="Validation sequences (for `tsv`, the sources held out of the training file unless `val_path` names a file); distinct from training.",
    )
    test_size: int = integer(
        1_000,
        minimum=1,
        help="Test sequences (for `tsv`, the sources held out of the training file unless `test_path` names a file); distinct from training and validation.",
    )
    reversed_symbols: int = integer(
        3, minimum=1, help="reverse_prefix: how many leading source symbols the target reverses."
    )
    train_path: str | None = filesystem_path(
        None,
        help="tsv: the file of `source<TAB>target` lines to train on; validation and test are cut from it unless `val_path` / `test_path` name files of their own (`train_size`, `vocab_size`, `min_source_symbols` and `max_source_symbols` do not apply).",
    )
    path: str | None = filesystem_path(None, help="tsv: the older name of `train_path`.")
    train_paths: list[str] = path_list(
        help="tsv: several files of pairs to train on instead of `train_path` (`[general.tsv,domain.tsv]`): one vocabulary over all of them; validation and test are cut from their distinct sources together (a held-out source leaves every file) unless `val_path` / `test_path` name files; repeated sources are counted within each file (docs/data.md)."
    )
    train_weights: list[float] = weight_list(
        help="tsv, with `train_paths`: each file's share of every epoch (`[0.7,0.3]`, normalized), drawn from the seed without replacement until a file is used up, then through it again in a new order, so that a resumed run draws the same pairs; empty: each file in proportion to its pairs, every pair once an epoch."
    )
    val_path: str | None = filesystem_path(
        None,
        help="tsv: a file of pairs of its own for validation; null: cut from the training file (`val_size` sources).",
    )
    test_path: str | None = filesystem_path(
        None,
        help="tsv: a file of pairs of its own for test; null: cut from the training file (`test_size` sources).",
    )
    held_out_limit: int | None = integer(
        None,
        minimum=1,
        help="tsv: validate and test on the first N sources of each held-out file (`val_path`, `test_path`), each with all its pairs; every source of the file still stays out of training; null: the whole file (splits cut from the training file take `val_size` / `test_size`).",
    )
    tokenizer: str = one_of(
        "space",
        TOKENIZERS,
        help="tsv: how text becomes symbols, both sides: char (every character, spaces too), space (symbols separated by spaces) or subword (SentencePiece pieces, trained on the training split).",
    )
    source_tokenizer: str | None = one_of(
        None, TOKENIZERS, help="tsv: the source side's own tokenizer; null means `task.tokenizer`."
    )
    target_tokenizer: str | None = one_of(
        None, TOKENIZERS, help="tsv: the target side's own tokenizer; null means `task.tokenizer`."
    )
    normalize: str = one_of(
        "none",
        NORMALIZATIONS,
        help="tsv: each source as it is read, before it splits into symbols, in training and in every command (evaluate, predict, score, the SavedModel's text signatures) alike: none (as written), lower (lower case), nfc (Unicode's composed form), nfkc (compatibility form: full-width letters, ligatures, superscripts become plain ones), nfkc_lower (NFKC, then lower case). Targets stay as written: they are the references (docs/data.md).",
    )
    shared_vocab: bool = described(
        False,
        help="tsv: one vocabulary (and one embedding) for both sides (true) or one per side (false).",
    )
    source_vocab_size: int | None = integer(
        None,
        minimum=5,
        help=f"tsv, subword: the most pieces in the source vocabulary (null: {DEFAULT_SUBWORD_VOCAB}); SentencePiece stops earlier where the training text has fewer.",
    )
    target_vocab_size: int | None = integer(
        None,
        minimum=5,
        help=f"tsv, subword: the most pieces in the target vocabulary (null: {DEFAULT_SUBWORD_VOCAB}); SentencePiece stops earlier where the training text has fewer.",
    )
    subword_type: str = one_of(
        "unigram", ("unigram", "bpe"), help="tsv, subword: SentencePiece's algorithm."
    )
    max_train_source_symbols: int | None = integer(
        None,
        minimum=1,
        help="tsv: training pairs with a longer source (in symbols) are left out, counted in the log; null: no limit.",
    )
    max_train_target_symbols: int | None = integer(
        None,
        minimum=1,
        help="tsv: training pairs with a longer target (in symbols) are left out, counted in the log; null: no limit.",
    )
    min_freq: int = integer(
        1,
        minimum=1,
        help="tsv: `char` and `space` symbols seen fewer times in training become the unknown symbol `<unk>`.",
    )
    repeated_sources: str = one_of(
        "first",
        ("first", "all"),
        help="tsv: sources on several lines: training keeps the first pair of each (first) or all of them (all); a held-out source keeps its first pair and never trains.",
    )
    on_bad_line: str = one_of(
        "error",
        ("error", "skip"),
        help="tsv: a line without a tab or with an empty side: error (stop, naming `FILE:LINE`) or skip (leave it out, with a warning that counts them).",
    )
    vocab_from: str | None = filesystem_path(
        None,
        help="tsv: start from the vocabularies of the finished run in this directory (its symbols keep their ids, symbols only this run's training data has are appended; a subword run reuses its SentencePiece models), and fit the length bound no narrower than that run's; the tokenizers must be the same; null: the parent of `trainer.init_from`, if any, else this run's own data.",
    )
    header: bool | None = described(
        None,
        help="tsv: the first line of each file holds column names (true: skipped), a pair (false), or null: a first line that looks like column names (`source<TAB>target`) is refused.",
    )
