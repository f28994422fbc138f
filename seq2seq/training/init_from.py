"""Fine-tuning: a new run's model starts from a finished run's weights (`trainer.init_from`).

Every weight of the parent is copied into the weight of the same path in the new model.
The weights with a vocabulary axis (each embedding's rows, the logits' kernel columns and
bias) are copied symbol by symbol: a row whose token both vocabularies hold gets the
parent's row, a row of a token only the new data has keeps its fresh initialization, as
OpenNMT-tf's `update_vocab` does. Freezing (`trainer.freeze_embeddings`,
`trainer.freeze_encoder`) marks those layers untrainable before the model is compiled.

Keras has no partial load by symbol (`load_weights(skip_mismatch=True)` skips a whole
mismatched weight), hence this module.
"""

import json
import logging
from pathlib import Path

import numpy as np

from seq2seq.base.errors import UserError
from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import INIT_FROM_RECORD
from seq2seq.serving.finished_run import load_run
from seq2seq.text.vocabulary import FIRST_SYMBOL_ID, Vocabularies, Vocabulary

log = logging.getLogger(__name__)


def row_map(new: Vocabulary, parent: Vocabulary) -> np.ndarray:
    """For each of `new`'s token ids, the parent's id of the same token, or -1.

    Special tokens (PAD, BOS, EOS) map to themselves; `<unk>` to the parent's `<unk>`.
    """
    parent_ids = {token: i for i, token in enumerate(parent.tokens)}
    return np.asarray([parent_ids.get(token, -1) for token in new.tokens], np.int64)


def _vocabulary_axes(model, source: np.ndarray, target: np.ndarray) -> dict:
    """`weight path -> (axis, row map)` for the weights with a vocabulary axis, given each
    side's `row_map`."""
    axes = {model.embedding.embeddings.path: (0, source)}
    if model.target_embedding is not None:
        axes[model.target_embedding.embeddings.path] = (0, target)
    projection = model.output_projection
    axes[projection.kernel.path] = (1, target)
    axes[projection.bias.path] = (0, target)
    return axes


def _copied(fresh: np.ndarray, theirs: np.ndarray, axis: int, rows: np.ndarray) -> np.ndarray:
    """`fresh` with the parent's rows (or columns) where `rows` names one."""
    known = np.flatnonzero(rows >= 0)
    out = np.array(fresh, copy=True)
    index = [slice(None)] * fresh.ndim
    index[axis] = known
    source = [slice(None)] * theirs.ndim
    source[axis] = rows[known]
    out[tuple(index)] = theirs[tuple(source)]
    return out


def initialize_from(model, parent_dir, vocabs: Vocabularies) -> dict:
    """Copies a finished run's weights into a built model, rows by symbol.

    Args:
        model: the new run's built model.
        parent_dir: the finished run (`trainer.init_from`), already checked to be one of
            the same model config.
        vocabs: the new run's vocabularies.

    Returns:
        What run.json records: the parent's directory, how many weights were copied, and
        per side how many symbols' rows came from the parent and how many are new.

    Raises:
        UserError: if a weight of the new model has no counterpart of the same shape in
            the parent (a shared vocabulary on one side and not the other, say).
    """
    parent = load_run(parent_dir)
    theirs = {w.path: w for w in parent.model.weights}
    maps = {
        side: row_map(getattr(vocabs, side), getattr(parent.vocabs, side))
        for side in ("source", "target")
    }
    axes = _vocabulary_axes(model, maps["source"], maps["target"])
    for weight in model.weights:
        other = theirs.get(weight.path)
        fresh = np.asarray(weight)
        if other is None or np.ndim(other) != fresh.ndim:
            raise UserError(
                f"trainer.init_from={str(parent_dir)!r}: its model has no weight {weight.path} "
                f"of this run's shape {fresh.shape} (the vocabularies must be shared on both "
                "runs or on neither)"
            )
        value = np.asarray(other)
        if weight.path in axes:
            axis, rows = axes[weight.path]
            value = _copied(fresh, value, axis, rows)
        elif value.shape != fresh.shape:
            raise UserError(
                f"trainer.init_from={str(parent_dir)!r}: its weight {weight.path} has shape "
                f"{value.shape}, this run's {fresh.shape}"
            )
        weight.assign(value.astype(fresh.dtype))
    record = {"run_dir": str(parent_dir), "weights_copied": len(model.weights)}
    for side, rows in maps.items():
        record[f"{side}_symbols"] = {
            "from_parent": int((rows[FIRST_SYMBOL_ID:] >= 0).sum()),
            "new": int((rows[FIRST_SYMBOL_ID:] < 0).sum()),
        }
    log.info(
        "Weights from %s: source symbols %s, target symbols %s",
        record["run_dir"], record["source_symbols"], record["target_symbols"],
    )  # fmt: skip
    return record


def start_from_parent(model, run_dir, trainer_cfg, vocabs, resuming: bool, warmup: int) -> dict:
    """A fine-tuned run's start: the parent's weights copied in (`initialize_from`), its
    record saved in the run directory, the layers asked for frozen.

    A resumed run reads the record it saved instead: its checkpoint, loaded next, holds
    every weight, so the parent is not needed again (it may have moved).

    Args:
        model: the new run's built model.
        run_dir: the run directory.
        trainer_cfg: the `trainer` config group (`init_from`, the freezing keys).
        vocabs: the new run's vocabularies.
        resuming: whether the run continues one saved in `run_dir`.
        warmup: the warmup steps the run's schedule uses (fitted to its length).

    Returns:
        What run.json records under `init_from` (`initialize_from`'s record, the warmup
        and the frozen layers).
    """
    saved = Path(run_dir) / INIT_FROM_RECORD
    if resuming and saved.is_file():
        record = json.loads(saved.read_text())
    else:
        record = initialize_from(model, trainer_cfg.init_from, vocabs)
        record["warmup_steps"] = warmup
        if warmup < trainer_cfg.warmup_steps:
            log.info(
                "Fine-tuning: warmup over %d steps, a tenth of the run's, not %d",
                warmup, trainer_cfg.warmup_steps,
            )  # fmt: skip
        atomic_write_text(saved, json.dumps(record, indent=1))
    record["frozen"] = freeze(model, trainer_cfg)
    return record


def freeze(model, trainer_cfg) -> list[str]:
    """Marks the layers `trainer.freeze_embeddings` and `trainer.freeze_encoder` name as
    untrainable (before `compile`); returns their names."""
    layers = []
    if trainer_cfg.freeze_embeddings:
        layers += [model.embedding] + ([model.target_embedding] if model.target_embedding else [])
    if trainer_cfg.freeze_encoder:
        layers.append(model.encoder)
    for layer in layers:
        layer.trainable = False
    return [layer.name for layer in layers]
