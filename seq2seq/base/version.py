"""The package's version, written here alone: `pyproject.toml` reads it for the wheel's
metadata, `--version` prints it and every run's `run.json` records it (see CHANGELOG.md)."""

__version__ = "0.1.0"


def exit_if_version(argv: list[str]) -> None:
    """Prints `seq2seq VERSION` and exits if the arguments ask for the version.

    Args:
        argv: the command line's arguments, without the program.

    Raises:
        SystemExit: with status 0, after printing the version.
    """
    if "--version" in argv:
        print(version_line())
        raise SystemExit(0)


def version_line() -> str:
    """What `--version` prints: `seq2seq VERSION`."""
    return f"seq2seq {__version__}"
