"""Weights on disk and in memory: checkpoints, their averaging, and the moving
average swapped into the model wherever the run reads it."""
