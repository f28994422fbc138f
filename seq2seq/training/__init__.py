"""A compiled model fitted into a run directory: the training loop and its callbacks,
checkpoints, TensorBoard summaries and distribution (see docs/architecture.md)."""
