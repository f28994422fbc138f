"""Several runs' models decoding together: at each step, the mean of their log-probabilities.

An `Ensemble` offers what the decoding code reads from a model (`encode`,
`initial_decoder_state`, `decode_step`, and a teacher-forced call), so greedy search, beam
search, sampling, n-best lists and the evaluator take it unchanged: its encoding and its
state are the tuples of its members', which `tf.nest` walks where beam search repeats and
reorders them.

What a step returns is the mean over members of `log_softmax(logits)`: the log of the
members' geometric mean, not normalized. Every consumer normalizes it again (beam search's
`log_softmax`, sampling's softmax, the loss `from_logits`), so the ensemble's distribution
is the normalized geometric mean (a product of experts), and greedy search takes its argmax.
An ensemble of one member decodes as that member: log_softmax moves every logit by the same
amount, which changes no argmax, and beam search takes log_softmax of the logits anyway.

Members share the target vocabulary (they score the same ids); each reads the source in
its own vocabulary, through a map from the first run's source ids (`source_id_map`).
"""

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from seq2seq.text.vocabulary import FIRST_SYMBOL_ID, Vocabulary


def source_id_map(source: Vocabulary, member: Vocabulary) -> np.ndarray:
    """The member's id of each of `source`'s ids: the same symbol, else the member's `<unk>`.

    Args:
        source: the vocabulary the sources are encoded in (the first run's).
        member: a member's source vocabulary.

    Returns:
        int32 (source.size,): PAD, BOS and EOS to themselves, each symbol to its id in
        `member`.

    Raises:
        KeyError: naming the first symbol `member` lacks, when it has no `<unk>`.
    """
    ids = list(range(FIRST_SYMBOL_ID))
    for symbol in source.symbols:
        try:
            ids.append(member.token_id(symbol))
        except KeyError:
            if member.unknown_id is None:
                raise KeyError(symbol) from None
            ids.append(member.unknown_id)
    return np.asarray(ids, np.int32)


class Ensemble:
    """Models that decode together, averaging their log-probabilities at each step.

    Args:
        models: the members' models, each with `encode`, `initial_decoder_state`,
            `decode_step` and a teacher-forced call, all over the same target ids.
        source_maps: for each member, int32 (source ids,): its id of each source id the
            ensemble is given (`source_id_map`); None: every member reads them as they are.

    Raises:
        ValueError: for no models, or a number of maps that is not one per model.
    """

    def __init__(self, models: Sequence, source_maps: Sequence | None = None):
        if not models:
            raise ValueError("An Ensemble needs at least one model. Received: models=[]")
        if source_maps is not None and len(source_maps) != len(models):
            raise ValueError(
                f"`source_maps` must hold one map per model ({len(models)}). "
                f"Received: {len(source_maps)} maps"
            )
        self.models = tuple(models)
        # A map that changes nothing is skipped: the ids go to the member as given.
        self.source_maps = tuple(
            None
            if id_map is None or np.array_equal(id_map, np.arange(len(id_map)))
            else tf.constant(id_map, tf.int32)
            for id_map in (source_maps or [None] * len(models))
        )

    def _sources(self, encoder_token_ids) -> tuple:
        """The source ids as each member reads them."""
        return tuple(
            encoder_token_ids if id_map is None else tf.gather(id_map, encoder_token_ids)
            for id_map in self.source_maps
        )

    def _mean(self, logits: Sequence) -> tf.Tensor:
        """The mean of each member's log-softmax, in float32 whatever a member computes in."""
        log_probs = [tf.nn.log_softmax(tf.cast(each, tf.float32)) for each in logits]
        return tf.add_n(log_probs) / float(len(log_probs))

    def encode(self, encoder_token_ids, training=None) -> tuple:
        """Each member's `encode` of the sources, as a tuple."""
        sources = self._sources(encoder_token_ids)
        return tuple(
            model.encode(ids, training=training) for model, ids in zip(self.models, sources)
        )

    def initial_decoder_state(self, encoded: tuple) -> tuple:
        """Each member's initial decoder state, as a tuple."""
        return tuple(model.initial_decoder_state(each) for model, each in zip(self.models, encoded))

    def decode_step(self, token_ids, state: tuple, encoded: tuple) -> tuple:
        """One step of every member, their log-probabilities averaged.

        Args:
            token_ids: int32 (batch,), the previous token of each sequence.
            state: the tuple of the members' states after the previous step.
            encoded: what `encode` returned for the same batch.

        Returns:
            `(log_probs, state)`: float32 (batch, target vocabulary), the mean of the
            members' log-softmax, and the tuple of their states after this step.
        """
        logits, states = [], []
        for model, each_state, each_encoded in zip(self.models, state, encoded):
            step_logits, step_state = model.decode_step(token_ids, each_state, each_encoded)
            logits.append(step_logits)
            states.append(step_state)
        return self._mean(logits), tuple(states)

    def __call__(self, inputs: dict, training=None) -> tf.Tensor:
        """Teacher-forced: the mean of the members' log-softmax at every target step.

        Args:
            inputs: `encoder_token_ids` and `decoder_token_ids`, as a model takes them.
            training: passed to every member.

        Returns:
            float32 (batch, target_len, target vocabulary), which the evaluator's loss and
            token accuracy read as logits.
        """
        sources = self._sources(inputs["encoder_token_ids"])
        return self._mean(
            [
                model(
                    {"encoder_token_ids": ids, "decoder_token_ids": inputs["decoder_token_ids"]},
                    training=training,
                )
                for model, ids in zip(self.models, sources)
            ]
        )
