"""`task.normalize` inside the SavedModel's text signatures: each source normalized as
predict normalizes it (`seq2seq.text.text_rules.NORMALIZERS`), as TensorFlow ops.

- `lower`: core TensorFlow's `tf.strings.lower(encoding="utf-8")` (ICU's full case
  mapping, the Greek final sigma included, as Python's `str.lower`);
- `nfc`, `nfkc`: TensorFlow Text's `normalize_utf8` (ICU). Core TensorFlow 2.21 has no
  Unicode normalization op, and a `tf.py_function` does not survive the export. TensorFlow
  Text is already pinned beside TensorFlow for a subword source's SentencePiece op, so a
  run with these loads after `import tensorflow_text`, as a subword run does, rather than
  refusing NFC and NFKC or serving a graph that normalizes otherwise;
- `nfkc_lower`: both, NFKC first.

Python's tables (`unicodedata`: Unicode 14.0 in Python 3.11) and the graph's (the ICU in
TensorFlow and in TensorFlow Text) come from different Unicode versions: about 40 capitals
of Unicode 14 stay capitals in TensorFlow's lower case, about 100 characters of Unicode 16
that Python does not know have an NFKC form in TensorFlow Text, and `tf.strings.lower`
ends a string at a NUL. The export compares the two on every code point (`differences`,
about a second) and the signatures refuse a text holding one of those characters, naming
the rule, instead of decoding it otherwise than predict would.
"""

import functools

import tensorflow as tf

from seq2seq.config.constraints import dispatch_table
from seq2seq.config.task_schema import NORMALIZATIONS
from seq2seq.text.text_rules import normalizer

#: The code points compared (all of Unicode but the surrogates, which UTF-8 cannot hold).
CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def _lower(texts):
    return tf.strings.lower(texts, encoding="utf-8")


def _normal_form(form: str):
    def normalize(texts):
        import tensorflow_text  # noqa: PLC0415 - only runs with nfc or nfkc need it

        return tensorflow_text.normalize_utf8(texts, form)

    return normalize


#: What each `task.normalize` does to a batch of strings in the graph.
GRAPH_NORMALIZERS = dispatch_table(
    "task.normalize",
    NORMALIZATIONS,
    {
        "none": tf.identity,
        "lower": _lower,
        "nfc": _normal_form("NFC"),
        "nfkc": _normal_form("NFKC"),
        "nfkc_lower": lambda texts: _lower(_normal_form("NFKC")(texts)),
    },
)


@functools.lru_cache
def differences(name: str) -> tuple[int, ...]:
    """The code points that `task.normalize=name` turns into other text in the graph than
    in Python, each compared alone.

    Args:
        name: a name in `GRAPH_NORMALIZERS`.

    Returns:
        The code points, in order (none for `none`).
    """
    if name == "none":
        return ()
    texts = [chr(c) for c in CODE_POINTS]
    graph = GRAPH_NORMALIZERS[name](tf.constant(texts)).numpy().tolist()
    python = normalizer(name)
    return tuple(ord(t) for t, g in zip(texts, graph) if python(t).encode() != g)


def _character_class(code_points) -> str:
    """An RE2 character class of the code points, runs of them as ranges."""
    runs, start = [], None
    for c, following in zip(code_points, [*code_points[1:], None]):
        start = c if start is None else start
        if following != c + 1:
            runs.append(f"\\x{{{start:x}}}" + (f"-\\x{{{c:x}}}" if c != start else ""))
            start = None
    return "[" + "".join(runs) + "]"


class GraphNormalizer:
    """A run's `task.normalize` as graph ops, refusing the characters it would read
    otherwise than Python (`differences`).

    Args:
        name: the run's `task.normalize`.
    """

    def __init__(self, name: str):
        self.name = name
        self.function = GRAPH_NORMALIZERS[name]
        refused = differences(name)
        self.pattern = f"(?s).*{_character_class(refused)}.*" if refused else None

    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        """Strings (batch,), UTF-8, to their normalized forms.

        Raises:
            tf.errors.InvalidArgumentError: for a string holding a character the graph
                normalizes otherwise than predict.
        """
        if self.pattern is None:
            return self.function(texts)
        check = tf.debugging.assert_equal(
            tf.reduce_any(tf.strings.regex_full_match(texts, self.pattern)),
            False,
            message=(
                f"text: a character that task.normalize={self.name} reads otherwise in "
                "TensorFlow than in predict (NUL, or one of Unicode's newest characters); "
                "allowed: text without it"
            ),
        )
        with tf.control_dependencies([check]):
            return self.function(tf.identity(texts))
