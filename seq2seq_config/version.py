"""The package's version, written here alone: `pyproject.toml` reads it for the wheel's
metadata, `--version` prints it and every run's `run.json` records it (see CHANGELOG.md)."""

__version__ = "0.1.0"
