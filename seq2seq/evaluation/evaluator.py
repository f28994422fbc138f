"""Held-out metrics: teacher-forced loss and token accuracy; exact-match, token error rate,
BLEU and chrF on decoded outputs, and how many outputs the length bound cut short.

The decoded metrics never see the target: decoding starts from BOS and feeds back its
own predictions (greedy by default; beam search or sampling on request), as the model
would be used, up to the run's length bound for each source (`length_bound`), the same
bound `predict` and the SavedModel use, never the reference's length. With the target's
vocabulary, every decoded metric is measured on exactly the strings `predict` would
print for those sources (detokenized) against the reference texts; exact-match is
whether the two strings are equal. Without it (tests, benchmarks), exact-match compares
token ids through EOS.
"""

import keras
import numpy as np
import tensorflow as tf

from seq2seq.data import pipeline
from seq2seq.data.splits import Split
from seq2seq.decoding import length_bound
from seq2seq.decoding.strategies import decode, decoding_options
from seq2seq.evaluation import text_metrics
from seq2seq.evaluation.metrics import token_accuracy
from seq2seq.text.vocabulary import EOS_ID, PAD_ID, Vocabulary


class Evaluator:
    """Measures a model on whole splits; its per-batch step is compiled once.

    Args:
        model: a Seq2Seq model, or an `ensemble.Ensemble` (whose teacher-forced call
            returns its averaged log-probabilities, which the loss and the token
            accuracy read as logits: log_softmax changes neither).
        batch_size: sequences per batch.
        strategy: a decoding strategy's name (see `decoding.DECODING_STRATEGIES`).
        target_vocab: the target's vocabulary; with it, the text metrics are measured too.
        bound: how many tokens to decode for each source (`length_bound.LengthBound`);
            None: `length_bound.DEFAULT`, twice the source plus two.
        **options: the strategy's options (see `decoding.decode`).
    """

    def __init__(
        self,
        model: keras.Model,
        batch_size: int,
        strategy="greedy",
        target_vocab: Vocabulary | None = None,
        bound: length_bound.LengthBound | None = None,
        **options,
    ):
        self.model = model
        self.bound = length_bound.DEFAULT if bound is None else bound
        self.batch_size = batch_size
        self.strategy = strategy
        self.target_vocab = target_vocab
        self.options = options
        #: The last split's outputs: `(decoded ids, texts or None)`, for its examples.
        self.last_outputs = None
        self._loss = keras.metrics.Mean(name="loss")
        self._token_accuracy = token_accuracy()
        self._steps = {}  # one compiled step per batch layout (see `_step_for`)

    def _update(self, x, y, sample_weight):
        logits = self.model(x, training=False)
        token_loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        self._loss.update_state(token_loss, sample_weight=sample_weight)
        self._token_accuracy.update_state(y, logits, sample_weight=sample_weight)

        def decode_fn(token_ids, max_len):
            return decode(self.model, token_ids, max_len, self.strategy, **self.options)

        return length_bound.bounded(decode_fn, x["encoder_token_ids"], self.bound)

    def decode_split(self, split: Split) -> tuple:
        """Decodes a whole split, in split order, each source up to its bound.

        Returns:
            `(decoded, truncated)`: each sequence's decoded token ids (a list of arrays,
            EOS included where emitted, PAD after it or beyond the bound), and whether
            each one reached its bound without EOS (bool array).
        """
        decoded, truncated = [], []
        dataset = pipeline.evaluation_dataset(split, self.batch_size)
        step = self._step_for(dataset.element_spec)
        for x, y, w in dataset:
            batch_decoded, batch_truncated = step(x, y, w)
            decoded.extend(batch_decoded.numpy())
            truncated.append(batch_truncated.numpy())
        return decoded, np.concatenate(truncated) if truncated else np.zeros(0, bool)

    def _step_for(self, element_spec):
        """The compiled step for batches of `element_spec`: its batch size is unknown, so a
        split's last, smaller batch runs the same graph instead of tracing a second one
        (the first validation of the default model took 1.1 s instead of 1.4 s)."""
        key = tuple(tf.nest.flatten(element_spec))
        if key not in self._steps:
            # No autograph: decoding's loops are TensorFlow's own (as in the SavedModel,
            # which Keras exports without it), and converting the calls cost each process
            # about 1 s on its first validation.
            self._steps[key] = tf.function(
                self._update, input_signature=list(element_spec), autograph=False
            )
        return self._steps[key]

    def _hypotheses(self, decoded: list) -> list | None:
        """The strings `predict` would print for the decoded ids (None without a vocabulary)."""
        if self.target_vocab is None:
            return None
        return [self.target_vocab.decode_text(ids) for ids in decoded]

    def _right_any(self, split: Split, hypotheses: list) -> np.ndarray:
        """Whether each output is exactly one of its source's references."""
        vocab = self.target_vocab
        return np.array([h in split.references_of(r, vocab) for r, h in enumerate(hypotheses)])

    def _right(self, split: Split, decoded: list, hypotheses: list | None) -> np.ndarray:
        """Whether each output is exactly its reference: the same string, or without a
        vocabulary the same ids through EOS."""
        if hypotheses is not None:
            references = [split.target_text(r, self.target_vocab) for r in range(len(split))]
            return np.array([h == r for h, r in zip(hypotheses, references)], bool)
        right = []
        for ids, target in zip(decoded, split.target_ids):
            ends = np.flatnonzero(ids == EOS_ID)
            emitted = ids[: ends[0] + 1] if len(ends) else ids
            wanted = np.append(target[target != PAD_ID], EOS_ID)
            right.append(np.array_equal(emitted, wanted))
        return np.array(right, bool)

    def error_units(self, split: Split, decoded: list, hypotheses: list, rows) -> tuple:
        """What the error rate counts in the outputs of `rows` and in their first references:
        characters for a tokenizer that counts them (subword pieces are no unit a reader
        counts), else the target's symbols, as ids.

        Returns:
            `(output units, reference units)`, a sequence of ints per row.
        """
        vocab = self.target_vocab
        if vocab.splitter.counts_characters:
            references = [split.target_text(r, vocab) for r in rows]
            return (
                text_metrics.characters([hypotheses[r] for r in rows]),
                text_metrics.characters(references),
            )
        units = [vocab.encode(vocab.decode(decoded[r])) for r in rows]
        return units, [split.target_ids[r][split.target_ids[r] != PAD_ID] for r in rows]

    def _text_metrics(self, split: Split, decoded: list, hypotheses: list, rows) -> dict:
        """Token error rate, BLEU and chrF of the decoded `rows` against the references."""
        vocab = self.target_vocab
        units, reference_units = self.error_units(split, decoded, hypotheses, rows)
        hypotheses = [hypotheses[r] for r in rows]
        references = [split.target_text(r, vocab) for r in rows]
        every = [split.references_of(r, vocab) for r in rows]
        several = any(len(refs) > 1 for refs in every)
        figures = text_metrics.text_metrics(units, reference_units, hypotheses, references)
        if not several:
            # One reference per row: the closest is the first, and BLEU and chrF against
            # all of them are the ones against it (half the validation's time, not spent).
            return {**figures, "token_error_rate_any": figures["token_error_rate"]}
        if vocab.splitter.counts_characters:
            every_units = [tuple(text_metrics.characters(r)) for r in every]
        else:
            every_units = [
                (ids, *(vocab.encode_text(t) for t in refs[1:]))
                for ids, refs in zip(reference_units, every)
            ]
        return {
            **figures,
            **text_metrics.several_references(units, every_units, hypotheses, every),
        }

    def __call__(self, split: Split, by_length: bool = False) -> dict[str, object]:
        """Metrics of the model on one split.

        Args:
            split: the sequences to measure.
            by_length: also report the decoded metrics for each target length.

        Returns:
            `{"loss", "token_accuracy", "exact_match"}` as floats (loss and accuracy are
            means over target tokens, EOS included, padding excluded) and `"truncated"`,
            how many outputs reached their length bound without EOS (an int); with the
            target vocabulary `"exact_match_any", "token_error_rate",
            "token_error_rate_any", "bleu", "chrf"` too (`*_any`: against the closest
            of the source's references; BLEU and chrF against all of them), and with
            `by_length` an `exact_match_by_length` dict `{length: exact-match}` and a
            `by_length` dict `{length: {metric: value}}` of every decoded metric.
        """
        self._loss.reset_state()
        self._token_accuracy.reset_state()
        decoded, truncated = self.decode_split(split)
        hypotheses = self._hypotheses(decoded)
        self.last_outputs = decoded, hypotheses
        right = self._right(split, decoded, hypotheses)
        metrics: dict[str, object] = {
            "loss": float(self._loss.result()),
            "token_accuracy": float(self._token_accuracy.result()),
            "exact_match": float(right.mean()),
            "truncated": int(truncated.sum()),
        }
        if hypotheses is not None:
            right_any = self._right_any(split, hypotheses)
            metrics["exact_match_any"] = float(right_any.mean()) if len(right_any) else 0.0
            metrics.update(self._text_metrics(split, decoded, hypotheses, range(len(split))))
        if by_length:
            lengths = split.target_lengths
            metrics["exact_match_by_length"] = exact_match_by_length(right, lengths)
            metrics["by_length"] = {}
            for n in np.unique(lengths).tolist():
                rows = np.flatnonzero(lengths == n)
                part = {
                    "sequences": len(rows),
                    "exact_match": float(right[rows].mean()),
                    "truncated": int(truncated[rows].sum()),
                }
                if hypotheses is not None:
                    part["exact_match_any"] = float(right_any[rows].mean())
                    part.update(self._text_metrics(split, decoded, hypotheses, rows))
                metrics["by_length"][n] = part
        return metrics


def exact_match_by_length(right: np.ndarray, lengths: np.ndarray) -> dict[int, float]:
    """Exact-match among the sequences of each target length (symbols, EOS not counted)."""
    return {int(n): float(right[lengths == n].mean()) for n in np.unique(lengths)}


def make_evaluator(
    model,
    batch_size: int,
    decoding_cfg: object | None = None,
    target_vocab: Vocabulary | None = None,
    bound: length_bound.LengthBound | None = None,
) -> Evaluator:
    """An Evaluator decoding as the `decoding` group says (greedy without one) up to
    `bound`, measuring the text metrics when given the target's vocabulary."""
    if decoding_cfg is None:
        return Evaluator(model, batch_size, target_vocab=target_vocab, bound=bound)
    return Evaluator(
        model,
        batch_size,
        decoding_cfg.strategy,
        target_vocab=target_vocab,
        bound=bound,
        **decoding_options(decoding_cfg),
    )
