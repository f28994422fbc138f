"""Config to batches: generated tasks and files of pairs as splits, the token store and
its cache, batching plans, the held-out files a run keeps, and the tf.data pipelines
(`pipeline.py`, the one module here that imports TensorFlow)."""
