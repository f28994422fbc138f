"""The command line: the error types and their one-line descriptions (`errors.py`), the
runner every command goes through (`runner.py`), hints for overrides Hydra cannot parse,
the console scripts (`commands.py`) and the training command (`train.py`)."""
