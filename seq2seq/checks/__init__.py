"""A composed config checked before TensorFlow loads: every key against the others
(`validation.py`), the time budget, the commands' keys and decoding, export, a parent run
(`init_from.py`), and the memory a batch would need."""
