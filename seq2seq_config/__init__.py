"""The configuration of the seq2seq framework, importable without TensorFlow.

Config schemas, their validation, the run directory's checks and the one-line error
reporting live here, apart from the `seq2seq` package, because importing TensorFlow
takes seconds: the command-line tools check a config (and refuse a bad one) before
paying for it.
"""

from seq2seq_config.compose import CONFIG_DIR, compose_config
from seq2seq_config.errors import (
    ConfigError,
    RunError,
    UserError,
    describe,
    exit_on_user_error,
    run_cli,
)
from seq2seq_config.schema import (
    ModelConfig,
    TaskConfig,
    TrainConfig,
    TrainerConfig,
    register_configs,
)
from seq2seq_config.validation import validate
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
