"""Config to batches: generated tasks and files of pairs, vocabularies, splits, the
dataset cache and the tf.data pipelines (see docs/architecture.md)."""
