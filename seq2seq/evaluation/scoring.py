"""Teacher-forced log-probabilities of given targets: how likely the model finds a pair,
for reranking, filtering noisy pairs and finding errors in the data (`python -m
seq2seq.score`).

The model reads BOS then the target, as in training (`pipeline.teacher_forcing`); each
position's log-softmax is read at the next target token, EOS last. Nothing is decoded,
so neither the length bound nor a decoding strategy plays a part.
"""

import numpy as np
import tensorflow as tf

from seq2seq.data.pipeline import teacher_forcing
from seq2seq.data.splits import Split


def score_pairs(
    model, sources: list[list[int]], targets: list[list[int]], batch_size: int
) -> list[np.ndarray]:
    """The log-probability of each target token, EOS included, given its source.

    Args:
        model: a Seq2Seq model (its call on `encoder_token_ids` and `decoder_token_ids`).
        sources: each pair's source token ids (no BOS or EOS).
        targets: each pair's target token ids (no BOS or EOS), none empty.
        batch_size: pairs per batch.

    Returns:
        For each pair, in order, float32 (len(target) + 1,): the log-probability of each
        target token and then of EOS; their sum is the pair's log-probability.

    Raises:
        ValueError: if `sources` and `targets` differ in length.
    """
    if len(sources) != len(targets):
        raise ValueError(
            f"`sources` and `targets` must pair up. Received: {len(sources)} sources, "
            f"{len(targets)} targets"
        )

    @tf.function(reduce_retracing=True, autograph=False)  # no Python control flow
    def token_log_probs(x, y):
        logits = model(x, training=False)
        # float32 whatever the run's precision: a bfloat16 log-softmax keeps 3 digits.
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        return tf.gather(log_probs, y, batch_dims=2)

    scores = []
    for start in range(0, len(sources), batch_size):
        batch = Split.from_rows(
            sources[start : start + batch_size], targets[start : start + batch_size]
        )
        x, y, weights = teacher_forcing(batch.source_ids, batch.target_ids)
        x = {name: tf.constant(ids) for name, ids in x.items()}
        picked = token_log_probs(x, tf.constant(y)).numpy()
        lengths = (weights > 0).sum(axis=1)
        scores += [picked[row, :length] for row, length in enumerate(lengths)]
    return scores
