"""The part of the seq2seq framework that runs before TensorFlow, importable without it.

Config schemas, their validation, the run directory's checks and the one-line error
reporting live here, apart from the `seq2seq` package, because importing TensorFlow
takes seconds: the command-line tools check a config (and refuse a bad one) before
paying for it. `config/`: the schemas, validation, composing; `task/`: files of pairs
and task counts, read for their shape; `run/`: the run directory, its file names
(`names.py`), lock, atomic writes, sweeps; `cli/`: errors, the runner, the commands;
`tokens.py`: the special token ids both halves share; `version.py`.
"""

from seq2seq_config.cli.errors import ConfigError, RunError, UserError, describe
from seq2seq_config.cli.runner import exit_on_user_error, run_cli
from seq2seq_config.config.compose import CONFIG_DIR, compose_config
from seq2seq_config.config.schema import (
    ModelConfig,
    TaskConfig,
    TrainConfig,
    TrainerConfig,
    register_configs,
)
from seq2seq_config.config.validation import validate
from seq2seq_config.version import __version__

__all__ = [
    "CONFIG_DIR",
    "ConfigError",
    "ModelConfig",
    "TaskConfig",
    "TrainConfig",
    "TrainerConfig",
    "RunError",
    "UserError",
    "compose_config",
    "describe",
    "exit_on_user_error",
    "register_configs",
    "run_cli",
    "validate",
    "__version__",
]
