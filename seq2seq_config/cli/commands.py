"""The console scripts an installation puts on the PATH: `seq2seq-train`,
`seq2seq-evaluate`, `seq2seq-predict`, `seq2seq-score`, `seq2seq-modes` and `seq2seq-runs`
(pyproject.toml's `[project.scripts]`).

Each takes what `python train.py` and `python -m seq2seq.evaluate|predict|score|modes` take,
from any directory, and `--version`. `--version` is answered here, before the command's
module loads: the four that load a model import TensorFlow (seconds), and Hydra's own
`--version` names Hydra's.
"""

import sys

from seq2seq_config.cli.runner import run_cli
from seq2seq_config.cli.runs import main as runs_main
from seq2seq_config.cli.train import main as train_main
from seq2seq_config.version import exit_if_version


def train() -> None:
    """`seq2seq-train`: composes and checks the config, then trains (see
    `seq2seq_config.cli.train`)."""
    exit_if_version(sys.argv[1:])
    run_cli(train_main)


def evaluate() -> None:
    """`seq2seq-evaluate run_dir=DIR ...`: measures a finished run (`seq2seq.evaluate`)."""
    exit_if_version(sys.argv[1:])
    from seq2seq.evaluate import main  # noqa: PLC0415 - TensorFlow loads after --version

    sys.exit(main())


def predict() -> None:
    """`seq2seq-predict run_dir=DIR input=...`: decodes with a finished run
    (`seq2seq.predict`)."""
    exit_if_version(sys.argv[1:])
    from seq2seq.predict import main  # noqa: PLC0415 - TensorFlow loads after --version

    sys.exit(main())


def score() -> None:
    """`seq2seq-score run_dir=DIR input_file=pairs.tsv`: each pair's log-probability under a
    finished run's model (`seq2seq.score`)."""
    exit_if_version(sys.argv[1:])
    from seq2seq.score import main  # noqa: PLC0415 - TensorFlow loads after --version

    sys.exit(main())


def modes() -> None:
    """`seq2seq-modes`: the four LSTM output modes (`seq2seq.modes`)."""
    exit_if_version(sys.argv[1:])
    from seq2seq.modes import main  # noqa: PLC0415 - TensorFlow loads after --version

    sys.exit(main())


def runs() -> None:
    """`seq2seq-runs [DIR ...]`: every run under the directories in one table, read from
    their files (`seq2seq_config.cli.runs`; no TensorFlow)."""
    exit_if_version(sys.argv[1:])
    sys.exit(runs_main())
