"""Typed schemas of the `evaluate`, `predict`, `score` and `export` commands, and of decoding.

As in `schema.py`, each field states the values it allows, and everything else reads
them from here.
"""

import dataclasses
from dataclasses import dataclass, field

from omegaconf import MISSING

from seq2seq.config.constraints import (
    READ_BY,
    described,
    filesystem_path,
    integer,
    number,
    one_of,
    path_list,
    read_by,
)

#: The `ensemble` key's help, the same in `evaluate` and `predict`.
ENSEMBLE_HELP = (
    "A list of more finished run directories, `[DIR2,DIR3]`, whose models decode together with "
    "`run_dir`'s, averaging the log-probabilities at each step; their target vocabularies "
    "must equal run_dir's (each reads the source through its own vocabulary). Split, "
    "tokenizer and length bound are run_dir's; empty: run_dir's model alone."
)


@dataclass
class DecodingConfig:
    """How `evaluate` and `predict` decode: greedy, beam search or sampling.

    Each strategy reads the keys it names in its entry of
    `seq2seq.decoding.strategies.DECODING_STRATEGIES`.
    """

    strategy: str = one_of(
        "greedy",
        ("greedy", "beam", "sample"),
        help="greedy (the most likely token at each step, fed back), beam (the best `beam_size` partial sequences per input) or sample (draws from softmax(logits / temperature)); chosen with `decoding=NAME`.",
    )
    beam_size: int = read_by(
        ("beam",),
        integer(5, minimum=1, help="beam: the partial sequences kept per input."),
    )
    n_best: int = integer(
        1,
        minimum=1,
        help="predict: the best hypotheses of each input to write, with their log-probabilities (beam search only; at most `beam_size`).",
    )
    length_penalty: float = read_by(
        ("beam",),
        number(
            0.0,
            minimum=0.0,
            help="beam: GNMT's alpha: hypotheses are ranked by log-probability / ((5 + length) / 6) ** alpha.",
        ),
    )
    temperature: float = read_by(
        ("sample",),
        number(
            1.0,
            minimum=1e-6,
            help="sample: logits are divided by it; below 1e-6, logits / temperature overflows float32 (sampling is greedy long before).",
        ),
    )
    top_k: int = read_by(
        ("sample",),
        integer(
            0,
            minimum=0,
            help="sample: among the k most likely tokens only; 0 means all; at most the run's target vocabulary's tokens.",
        ),
    )
    max_tokens: int | None = integer(
        None,
        minimum=1,
        help="The most tokens to emit, EOS included, for every source; null means the run's length bound, fitted to its training lengths (`length_bound.json`).",
    )
    seed: int = read_by(
        ("sample",),
        integer(
            0,
            minimum=0,
            maximum=2**31 - 1,
            help="sample: seeds sampling (with the step index): the same seed gives the same sequences.",
        ),
    )
    top_p: float = read_by(
        ("sample",),
        number(
            1.0,
            minimum=0.0,
            maximum=1.0,
            exclusive_minimum=True,
            help="sample: among the smallest set of most likely tokens whose probability reaches p (nucleus sampling), after temperature and top_k; 1 means all. The most likely token is always among them: a p it alone reaches is greedy.",
        ),
    )
    min_tokens: int = integer(
        0,
        minimum=0,
        help="Every strategy: the fewest tokens before EOS may be emitted (EOS's score is -inf before); 0 means no minimum. Must be below decoding.max_tokens; a source whose length bound is at most min_tokens cannot end and is cut at its bound.",
    )
    no_repeat_ngram_size: int = integer(
        0,
        minimum=0,
        help="Every strategy: n > 0 forbids a token that would repeat an n-gram already in its hypothesis (beam search: each beam's own); 0 allows repeats. A hypothesis it leaves no symbol ends there with EOS, even before `min_tokens`; a `min_tokens` no hypothesis could reach is refused.",
    )


#: `decoding.*` keys that only some strategies read, and those strategies (the fields'
#: `read_by`): a value other than the key's default with another strategy is refused, never
#: silently ignored; the strategy table (`seq2seq.decoding.strategies`) passes each to those.
STRATEGY_KEYS = {
    schema_field.name: schema_field.metadata[READ_BY]
    for schema_field in dataclasses.fields(DecodingConfig)
    if READ_BY in schema_field.metadata
}


@dataclass
class EvalConfig:
    """The length-generalization split of `evaluate`: lengths beyond training."""

    min_source_symbols: int | None = integer(
        None,
        minimum=1,
        help="The length-generalization split's shortest source; null means the run's `task.max_source_symbols` + 1.",
    )
    max_source_symbols: int | None = integer(
        None,
        minimum=1,
        help="The length-generalization split's longest source; null means the run's `task.max_source_symbols` + 5.",
    )
    size: int = integer(
        1000, minimum=1, maximum=10**7, help="Sequences in the length-generalization split."
    )
    file: str | None = filesystem_path(
        None,
        help="A file of `source<TAB>target` pairs to measure instead of the run's split (written in the run's tokenizer); null measures the split the run held out.",
    )
    header: bool | None = described(
        None,
        help="`eval.file`'s first line: column names (true: skipped), a pair (false), or null: one that looks like column names is refused, as `task.header`.",
    )
    batch_size: int = integer(500, minimum=1, maximum=10**6, help="Sequences decoded per batch.")


@dataclass
class EvaluateConfig:
    """`python -m seq2seq.evaluate run_dir=DIR ...`."""

    run_dir: str = described(MISSING, help="The finished run to measure (required).")
    ensemble: list[str] = path_list(ENSEMBLE_HELP)
    split: str = one_of(
        "test",
        ("val", "test"),
        help="The split measured: the run's val or test (for a run on a file of pairs, the pairs it held out).",
    )
    eval: EvalConfig = field(default_factory=EvalConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)


@dataclass
class PredictConfig:
    """`python -m seq2seq.predict run_dir=DIR input="3 1 4 1 5" ...`."""

    run_dir: str = described(MISSING, help="The finished run to decode with (required).")
    ensemble: list[str] = path_list(ENSEMBLE_HELP)
    input: str | None = described(
        None,
        help="One sequence per line, as the run's source tokenizer reads text (space: symbols separated by spaces).",
    )
    input_file: str | None = described(None, help="A file of such lines, one input a line.")
    max_input_symbols: int | None = integer(
        None,
        minimum=1,
        help="The longest input accepted; null means the longest source the run trained on.",
    )
    output_file: str | None = filesystem_path(
        None,
        help="Where to write the outputs, one per line (TSV with `decoding.n_best` > 1), atomically; null: stdout.",
    )
    batch_size: int = integer(500, minimum=1, maximum=10**6, help="Inputs decoded per batch.")
    on_unknown: str = one_of(
        "warn",
        ("warn", "error"),
        help="An input symbol the run's vocabulary lacks reads as `<unk>`: warn (a line on stderr per such input, and their count) or error (refuse the input, exit status 2).",
    )
    decoding: DecodingConfig = field(default_factory=DecodingConfig)


@dataclass
class ScoreConfig:
    """`python -m seq2seq.score run_dir=DIR input_file=pairs.tsv ...`."""

    run_dir: str = described(
        MISSING, help="The finished run whose model scores the pairs (required)."
    )
    input_file: str | None = filesystem_path(
        None,
        help="The file of `source<TAB>target` pairs to score, one a line, in the run's tokenizers (required).",
    )
    header: bool | None = described(
        None,
        help="`input_file`'s first line: column names (true: skipped), a pair (false), or null: one that looks like column names is refused, as `task.header`.",
    )
    output_file: str | None = filesystem_path(
        None,
        help="Where to write the scores, a TSV line per pair in input order (`source`, `target`, `log_prob`, `tokens`), atomically; null: stdout.",
    )
    per_token: bool = described(
        False,
        help="Adds a column: each target token's log-probability (EOS last), space-separated; they sum to `log_prob`.",
    )
    batch_size: int = integer(500, minimum=1, maximum=10**6, help="Pairs scored per batch.")
    on_unknown: str = one_of(
        "warn",
        ("warn", "error"),
        help="A symbol of either side the run's vocabulary lacks reads as `<unk>` (and is scored as it): warn (a line on stderr per such pair, and their count) or error (refuse the pair, exit status 2). A vocabulary without `<unk>` refuses it either way.",
    )


@dataclass
class ExportConfig:
    """`python -m seq2seq.export run_dir=DIR format=onnx ...`."""

    run_dir: str = described(MISSING, help="The finished run to export (required).")
    format: str = one_of(
        "onnx",
        ("onnx", "litert"),
        help="onnx (ONNX Runtime; through tf2onnx) or litert (LiteRT, formerly TensorFlow Lite; the encoder takes one source at a time): the encoder and one decoder step as two models, beside a manifest and a decoder script needing NumPy and the runtime only. docs/export.md.",
    )
    quantize: str = one_of(
        "none",
        ("none", "int8"),
        help="none (float32 weights) or int8 (dynamic-range int8 weights: ONNX Runtime's quantize_dynamic, LiteRT's converter optimization; activations stay float32).",
    )
    output_dir: str | None = filesystem_path(
        None,
        help="Where to write the export, a new directory or an earlier export's (replaced whole); null: the run directory's `onnx/`, `litert/` (`onnx_int8/`, `litert_int8/` with int8 weights).",
    )
    max_input_symbols: int | None = integer(
        None,
        minimum=1,
        help="The longest source the exported decoder accepts (it refuses longer ones, as predict does); null means the longest source the run trained on.",
    )
