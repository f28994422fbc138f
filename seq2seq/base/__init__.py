"""The floor of the house, importing nothing of the package: the error types and their
one-line descriptions (`errors.py`, `error_hints.py`), every run-directory file name
(`names.py`), the atomic writer for files that must survive a kill (`files.py`), the
special token ids (`tokens.py`) and the version (`version.py`)."""
