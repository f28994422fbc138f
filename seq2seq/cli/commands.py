"""The console scripts an installation puts on the PATH: `seq2seq-train`,
`seq2seq-evaluate`, `seq2seq-predict`, `seq2seq-score`, `seq2seq-export`, `seq2seq-modes` and
`seq2seq-runs` (pyproject.toml's `[project.scripts]`).

Each takes what `python train.py` and `python -m seq2seq.evaluate|predict|score|export|modes`
take, from any directory, `--version` and `--help`. `--version` is answered here, before the
command's module loads (Hydra's own `--version` names Hydra's); `evaluate`, `predict`,
`score` and `export` go through `seq2seq.cli.command.run_command` with the `Command` each is
described by below, which checks the config before TensorFlow loads.
"""

import sys

from seq2seq.base.names import PORTABLE_DECODER
from seq2seq.base.version import exit_if_version, version_line
from seq2seq.checks.command import (
    validate_evaluate,
    validate_predict,
    validate_score,
)
from seq2seq.checks.export import validate_export
from seq2seq.cli.command import Command, run_command
from seq2seq.cli.imports import command_process, import_work
from seq2seq.cli.runner import OneLineArgumentParser, run_cli
from seq2seq.cli.runs import main as runs_main
from seq2seq.cli.train import main as train_main
from seq2seq.config.command_schema import (
    EvaluateConfig,
    ExportConfig,
    PredictConfig,
    ScoreConfig,
)

EVALUATE = Command(
    name="seq2seq-evaluate",
    module="seq2seq.evaluate",
    config_name="evaluate",
    schema=EvaluateConfig,
    example="run_dir=DIR",
    about="Measures a finished run on its test split (split=val: validation; eval.file=PATH: "
    "another file's pairs): prints a table, writes a report and every example under the "
    "run directory, logs the figures to TensorBoard. decoding=beam|sample chooses the "
    "strategy; ensemble=[DIR2,DIR3] decodes with more runs. docs/decoding.md.",
    check=validate_evaluate,
    work="seq2seq.serving.evaluate_run",
)
PREDICT = Command(
    name="seq2seq-predict",
    module="seq2seq.predict",
    config_name="predict",
    schema=PredictConfig,
    example='run_dir=DIR input="3 1 4 1 5"',
    about="Decodes each line of input (or input_file=PATH) with a finished run and writes "
    "one output a line (decoding.n_best=K: the K best, as TSV). docs/decoding.md.",
    check=validate_predict,
    work="seq2seq.serving.predict_run",
)
SCORE = Command(
    name="seq2seq-score",
    module="seq2seq.score",
    config_name="score",
    schema=ScoreConfig,
    example="run_dir=DIR input_file=pairs.tsv",
    about="Writes each source<TAB>target pair's log-probability under a finished run's "
    "model, one TSV line a pair. docs/decoding.md.",
    check=validate_score,
    work="seq2seq.serving.score_run",
)
EXPORT = Command(
    name="seq2seq-export",
    module="seq2seq.export",
    config_name="export",
    schema=ExportConfig,
    example="run_dir=DIR format=onnx",
    about="Writes a finished run's encoder and decoder step as ONNX (format=onnx) or LiteRT "
    "(format=litert) models, with a manifest (vocabularies, tokenizer rules, length bound) "
    f"and {PORTABLE_DECODER}, a greedy and beam-search decoder that needs NumPy and the "
    "runtime only (quantize=int8: int8 weights). docs/export.md.",
    check=validate_export,
    work="seq2seq.serving.portable_export",
)


def train() -> None:
    """`seq2seq-train`: composes and checks the config, then trains (see
    `seq2seq.cli.train`)."""
    exit_if_version(sys.argv[1:])
    command_process()
    run_cli(train_main)


def evaluate() -> None:
    """`seq2seq-evaluate run_dir=DIR ...`: measures a finished run (`seq2seq.evaluate`)."""
    command_process()
    sys.exit(run_command(EVALUATE))


def predict() -> None:
    """`seq2seq-predict run_dir=DIR input=...`: decodes with a finished run
    (`seq2seq.predict`)."""
    command_process()
    sys.exit(run_command(PREDICT))


def score() -> None:
    """`seq2seq-score run_dir=DIR input_file=pairs.tsv`: each pair's log-probability under a
    finished run's model (`seq2seq.score`)."""
    command_process()
    sys.exit(run_command(SCORE))


def export() -> None:
    """`seq2seq-export run_dir=DIR format=onnx`: the run's models for ONNX Runtime or LiteRT,
    and a decoder that needs neither TensorFlow nor this package (`seq2seq.export`)."""
    command_process()
    sys.exit(run_command(EXPORT))


def run_modes(argv: list[str] | None = None) -> int:
    """`seq2seq-modes [--seed N]`: the four LSTM output modes on the seed notebooks' example
    and the identities the framework relies on (`seq2seq.model.modes`).

    Args:
        argv: the arguments; the process's when None.

    Returns:
        0 if every identity holds, else 1 (2 for bad arguments, from the parser).
    """
    parser = OneLineArgumentParser(
        prog="python -m seq2seq.modes",
        description="The four LSTM output modes on one sample [0.1, 0.2, 0.3], and the "
        "identities the framework relies on; the exit status is 1 if any does not hold.",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the random weights")
    parser.add_argument("--version", action="version", version=version_line())
    args = parser.parse_args(argv)
    # TensorFlow loads after the arguments are known good.
    return import_work("seq2seq.model.modes").show(args.seed)


def modes() -> None:
    """`seq2seq-modes`: the four LSTM output modes (`seq2seq.model.modes`)."""
    command_process()
    sys.exit(run_modes())


def runs() -> None:
    """`seq2seq-runs [DIR ...]`: every run under the directories in one table, read from
    their files (`seq2seq.cli.runs`; no TensorFlow)."""
    exit_if_version(sys.argv[1:])
    sys.exit(runs_main())
