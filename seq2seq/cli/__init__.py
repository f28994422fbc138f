"""The command line: the wrapper every command goes through (`command.py`, `runner.py`),
the console scripts (`commands.py`), the training command (`train.py`), `seq2seq-runs`,
what a finished run prints, the filter of TensorFlow's start-up lines, and how a command's
process starts and imports its work (`imports.py`: the garbage collector paused, then frozen)."""
