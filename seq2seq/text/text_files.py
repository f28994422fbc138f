"""Users' text files, read as people have them: files of `source<TAB>target` pairs and
files of inputs, streamed line by line.

- A byte order mark at the start is dropped; Windows line endings (CRLF) end a line
  like LF; only LF ends a line, so that Unicode's other line separators (U+2028, U+0085,
  ...) stay inside their line, as text, and line numbers are the ones an editor shows.
- A file that is not UTF-8 text is refused naming the file and its first bad line; a
  NUL byte marks a binary file.
- A malformed pair (no tab, more than one tab, an empty side) stops the read naming
  the file and line (`on_bad_line="error"`), or is counted and left out (`"skip"`).
- A path that is no regular file (a directory, a FIFO: never opened, it would wait for
  a writer) or an empty file is refused saying so; a first line that looks like column
  names (`source<TAB>target`) is refused unless `header` says to skip or to keep it.

Plain Python, no TensorFlow: the run checks its files before TensorFlow loads.
"""

import codecs
import functools
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from seq2seq.base.errors import ConfigError, UserError
from seq2seq.text.text_rules import normalizer, text_rules

BOM = codecs.BOM_UTF8

#: Column names a first line of a file of pairs may hold instead of a pair (compared
#: lower-case, by their first word: `Source text`, `src_word` count too).
HEADER_WORDS = frozenset(
    "source target src tgt trg input output inputs outputs in out word words pronunciation "
    "pronunciations phoneme phonemes phones grapheme graphemes spelling text label sentence "
    "translation question answer prompt response lemma form".split()
)

#: What `os.stat` calls the kinds of file that are not regular, in words.
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))  # fmt: skip


def file_problem(path) -> str | None:
    """Why `path` cannot be read as a text file, without opening it (opening a FIFO waits
    for a writer), or None for a regular file.

    Returns:
        `no such file`, `is a directory; ...`, `is not a regular file (a FIFO); ...`, or None.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "no such file"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory; allowed: a file"
    kind = next((name for test, name in _KINDS if test(mode)), "of another kind")
    return f"is not a regular file ({kind}); allowed: a file"


def looks_like_header(source: str, target: str) -> bool:
    """Whether a first line holds column names (`source<TAB>target`) rather than a pair."""

    def name(text):
        words = re.split(r"[\s_\-]+", text.strip().lstrip("#").strip().lower())
        return words[0] in HEADER_WORDS

    return name(source) and name(target) and source.strip().lower() != target.strip().lower()


def read_lines(path, key: str = "task.path", digest=None) -> Iterator[tuple[int, str]]:
    """Yields `(line number, text)` of each line of a UTF-8 text file, without its ending.

    Args:
        path: the file.
        key: the config key or argument that named it, for messages.
        digest: a `hashlib` object fed every byte read, so that a whole read also gives the
            file's checksum (`file_scan`), or None.

    Raises:
        UserError: if the file is missing or not a regular file (a directory, a FIFO), cannot
            be read, is binary, or is not UTF-8.
    """
    problem = file_problem(path)
    if problem is not None:
        raise ConfigError(key, str(path), problem)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the last line
    except OSError as error:
        raise UserError(
            f"{key}={str(path)!r}: cannot be read ({error.strerror or error})"
        ) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if digest is not None:
                digest.update(raw)
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
            if b"\0" in raw:
                raise UserError(
                    f"{path}:{number}: a NUL byte; this looks like a binary file, not UTF-8 text"
                )
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise UserError(
                    f"{path}:{number}: not UTF-8 text (byte 0x{raw[error.start]:02x} at column "
                    f"{error.start + 1}); save the file as UTF-8"
                ) from None
            yield number, text.removesuffix("\n").removesuffix("\r")


@dataclass
class PairsRead:
    """What reading a file of pairs found besides its pairs.

    Attributes:
        bad_lines: the numbers of the malformed lines left out (`on_bad_line="skip"`).
        lines: every line read.
    """

    bad_lines: list = field(default_factory=list)
    lines: int = 0


@dataclass(frozen=True)
class PairFile:
    """A file of pairs with the rules it is read by: one value where six travelled apart.

    Attributes:
        path: the file of `source<TAB>target` lines.
        tokenizers: the source's and the target's tokenizer, which say when a side is empty.
        on_bad_line: `error` or `skip`.
        key: the config key that named the file, which errors name.
        header: true skips the first line (column names); false reads it as a pair; None
            refuses a first line that looks like column names (`looks_like_header`).
        header_key: the key that sets `header`, named in the refusal.
        normalize: the run's `task.normalize` (`text_rules.NORMALIZERS`): applied where
            sources come in, so that held-out splits, lengths and vocabularies all see the
            normalized text.
    """

    path: object
    tokenizers: tuple
    on_bad_line: str = "error"
    key: str = "task.path"
    header: bool | None = None
    header_key: str = "task.header"
    normalize: str = "none"

    @functools.cached_property
    def rules(self) -> tuple:
        """Each side's `text_rules.TextRules`, looked up once for the file, not per line."""
        return tuple(text_rules(name) for name in self.tokenizers)


def read_pairs(
    file: PairFile, report: PairsRead | None = None, digest=None
) -> Iterator[tuple[int, str, str]]:
    """Yields `(line number, source text, target text)` of each good line of a file of pairs,
    the source normalized as `file.normalize` says (the target as written).

    Args:
        file: the file and its rules.
        report: filled with the malformed lines skipped and the lines read.
        digest: fed every byte of the file (`read_lines`), or None.

    Raises:
        UserError: for a file that cannot be read or is empty, a bad line under `error`,
            or a first line that looks like a header under `header=None`.
    """
    path, (source_rules, target_rules), key = file.path, file.rules, file.key
    header, header_key, on_bad_line = file.header, file.header_key, file.on_bad_line
    report = report if report is not None else PairsRead()
    normalized = normalizer(file.normalize)
    for number, line in read_lines(path, key, digest):
        report.lines = number
        fields = line.split("\t")
        if number == 1 and header:
            continue
        if number == 1 and header is None and len(fields) == 2 and looks_like_header(*fields):
            raise UserError(
                f"{path}:1: the first line ({fields[0]!r}<TAB>{fields[1]!r}) looks like column "
                f"names; set {header_key}=true to skip it, or {header_key}=false to train on it "
                "as a pair"
            )
        problem = None
        if len(fields) == 2:  # normalized before its checks: as it trains and decodes
            fields[0] = normalized(fields[0])
        if len(fields) != 2:
            problem = "has no tab" if len(fields) == 1 else f"has {len(fields) - 1} tabs, not 1"
        elif source_rules.is_empty(fields[0]):
            problem = "has an empty source"
        elif target_rules.is_empty(fields[1]):
            problem = "has an empty target"
        if problem is None:
            yield number, fields[0], fields[1]
        elif on_bad_line == "error":
            raise UserError(
                f"{path}:{number}: the line {problem}; each line must be source<TAB>target "
                f"({bad_line_hint(key)})"
            )
        else:
            report.bad_lines.append(number)
    if report.lines == 0:
        raise ConfigError(key, str(path), "the file is empty; allowed: source<TAB>target lines")


def bad_line_hint(key: str) -> str:
    """What a user can do about a malformed line of the file `key` names.

    Training's files (`task.*`) leave such lines out under `task.on_bad_line=skip`;
    `evaluate`'s `eval.file` and `score`'s `input_file` have no such key: every line is
    measured, and a line left out would change the figures unseen.

    Args:
        key: the config key that named the file.

    Returns:
        The hint, without brackets.
    """
    if key.startswith("task."):
        return "or set task.on_bad_line=skip"
    return f"fix or delete that line: every line of {key} is read, none is skipped"


def describe_bad_lines(path, bad_lines: list) -> str:
    """One line that counts skipped lines and names the first of them."""
    shown = ", ".join(map(str, bad_lines[:10])) + (", ..." if len(bad_lines) > 10 else "")
    return f"{path}: skipped {len(bad_lines)} malformed lines (line {shown})"


def source_key(text: str, tokenizer: str) -> object:
    """What makes two sources the same, by their tokenizer's rules: their characters
    (`char`), or their symbols (`space`: however many spaces separate them)."""
    return text_rules(tokenizer).source_key(text)
