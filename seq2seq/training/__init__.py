"""A compiled model fitted into a run directory: the training loop, its callbacks, the
time budget, distribution, a parent run's weights, and the finish (see docs/architecture.md)."""
