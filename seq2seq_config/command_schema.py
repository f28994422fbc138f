"""Typed schemas of the `evaluate` and `predict` commands, and of decoding.

As in `schema.py`, each field states the values it allows, and everything else reads
them from here.
"""

from dataclasses import dataclass, field

from omegaconf import MISSING

from seq2seq_config.constraints import filesystem_path, integer, number, one_of


@dataclass
class DecodingConfig:
    """How `evaluate` and `predict` decode: greedy, beam search or sampling.

    Each strategy reads the keys it names in its entry of
    `seq2seq.evaluation.decoding.DECODING_STRATEGIES`.
    """

    strategy: str = one_of("greedy", ("greedy", "beam", "sample"))
    beam_size: int = integer(5, minimum=1)
    # predict: the best hypotheses of each input to write, with their log-probabilities
    # (beam search only; at most beam_size).
    n_best: int = integer(1, minimum=1)
    # GNMT's alpha: hypotheses are ranked by log-probability / ((5 + length) / 6) ** alpha.
    length_penalty: float = number(0.0, minimum=0.0)
    # Below 1e-6, logits / temperature overflows float32; sampling is greedy long before.
    temperature: float = number(1.0, minimum=1e-6)
    # Sample among the k most likely tokens only; 0 means all.
    top_k: int = integer(0, minimum=0)
    # The most tokens to emit, EOS included, for every source; null means the run's
    # length bound, fitted to its training lengths (length_bound.json).
    max_len: int | None = integer(None, minimum=1)
    # Seeds sampling (with the step index): the same seed gives the same sequences.
    seed: int = integer(0, minimum=0, maximum=2**31 - 1)


@dataclass
class EvalConfig:
    """The length-generalization split of `evaluate`: lengths beyond training."""

    # Null means the run's task.max_len + 1 and task.max_len + 5.
    min_len: int | None = integer(None, minimum=1)
    max_len: int | None = integer(None, minimum=1)
    size: int = integer(1000, minimum=1, maximum=10**7)
    # A file of source<TAB>target pairs to measure instead of the run's split (written
    # in the run's tokenizer); null measures the split the run held out.
    file: str | None = filesystem_path(None)
    # eval.file's first line: column names (true: skipped), a pair (false), or null: one
    # that looks like column names is refused, as task.header.
    header: bool | None = None
    batch_size: int = integer(500, minimum=1, maximum=10**6)


@dataclass
class EvaluateConfig:
    """`python -m seq2seq.evaluate run_dir=DIR ...`."""

    run_dir: str = MISSING
    split: str = one_of("test", ("val", "test"))
    eval: EvalConfig = field(default_factory=EvalConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)


@dataclass
class PredictConfig:
    """`python -m seq2seq.predict run_dir=DIR input="3 1 4 1 5" ...`."""

    run_dir: str = MISSING
    # One sequence per line, symbols separated by spaces; or a file of such lines.
    input: str | None = None
    input_file: str | None = None
    # The longest input accepted; null means the longest source the run trained on.
    max_input_len: int | None = integer(None, minimum=1)
    # Where to write the outputs, one per line (TSV with decoding.n_best > 1); null: stdout.
    output_file: str | None = filesystem_path(None)
    batch_size: int = integer(500, minimum=1, maximum=10**6)
    # An input symbol the run's vocabulary lacks reads as <unk>: warn (a line on stderr
    # per such input, and their count) or error (refuse the input, exit status 2).
    on_unknown: str = one_of("warn", ("warn", "error"))
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
