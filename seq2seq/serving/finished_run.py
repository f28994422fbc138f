"""A finished run directory, loaded back for evaluation, prediction and export; and the
runs of an ensemble (`ensemble=[DIR2,DIR3]`) beside it."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
from omegaconf import DictConfig, OmegaConf

from seq2seq import registered  # noqa: F401 - the classes model.keras names
from seq2seq.base.errors import UserError
from seq2seq.base.names import CONFIG_FILE, LENGTH_BOUND_FILE, MODEL_FILE, VOCAB_FILE
from seq2seq.config.renamed import upgraded
from seq2seq.decoding import length_bound
from seq2seq.decoding.ensemble import Ensemble, source_id_map
from seq2seq.model.precision import DECODING_DTYPE, dtype_policy, for_decoding
from seq2seq.text.text_rules import run_normalization
from seq2seq.text.vocabulary import Vocabularies, Vocabulary


@dataclass
class Run:
    """What a finished `train.py` run left: its model, resolved config, vocabulary and
    length bound (None for a run saved before bounds were: see `decoding_bound`)."""

    path: Path
    model: keras.Model
    config: DictConfig
    vocabs: Vocabularies
    bound: length_bound.LengthBound | None = None

    def decoding_bound(self, max_len: int | None = None) -> length_bound.LengthBound:
        """The bound to decode with: `decoding.max_tokens` when set, else the run's; a run
        saved before bounds were gets the old default, twice the source plus two, with a
        warning on stderr saying so."""
        return length_bound.chosen(self.bound, max_len, str(self.path))


def _read(path: Path, reader):
    """`reader(path)`, with a damaged file refused in one line instead of a traceback."""
    try:
        return reader(path)
    except Exception as error:  # noqa: BLE001 - zip, HDF5, JSON and Keras each raise their own kind
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(
            f"run_dir={str(path.parent)!r}: {path.name} is damaged and cannot be read ({reason[:200]})"
        ) from None


def load_model(path: Path) -> keras.Model:
    """The model saved in `path` (a `.keras` file), computing in float32 whatever the run
    trained in and whatever policy the caller runs under (`seq2seq.model.precision`)."""
    # Loaded under float32, the layers built in the model's constructor compute in it;
    # the model's own policy, saved in the file, is the training one: `for_decoding`.
    # Uncompiled: no command trains the model it loads. Rebuilding the optimizer, loss and
    # metrics took 0.25 -> 0.18 s of a load after the first in a process (the tests load
    # hundreds), nothing measurable of a `predict` command's 3.2 s (2-core Intel Xeon).
    with dtype_policy(DECODING_DTYPE):
        return for_decoding(keras.saving.load_model(path, compile=False))


def load_run(run_dir) -> Run:
    """Loads a run directory written by `train`.

    Args:
        run_dir: the run directory (holding model.keras, config.yaml, vocab.json and,
            since length bounds were saved, length_bound.json).

    Returns:
        The run, its model reloaded (uncompiled) with `keras.saving.load_model`, computing in float32
        whatever the run trained in (`load_model`), as every command decodes.

    Raises:
        UserError: if one of the run's files is damaged.
    """
    path = Path(run_dir)
    return Run(
        path=path,
        model=_read(path / MODEL_FILE, load_model),
        config=_read(path / CONFIG_FILE, lambda file: upgraded(OmegaConf.load(file))),
        vocabs=_read(path / VOCAB_FILE, Vocabularies.load),
        bound=_read(path / LENGTH_BOUND_FILE, lambda p: length_bound.load(p.parent)),
    )


def load_ensemble(run: Run, member_dirs: Sequence[str]) -> Ensemble:
    """`run`'s model and the models of other finished runs, decoding together.

    Every member scores the same target ids, so its target vocabulary must be `run`'s;
    its source vocabulary may differ, with the same tokenizer: it reads each source
    symbol as its own id for it, or as its `<unk>`. Everything else (split, tokenizer,
    length bound) is `run`'s.

    Args:
        run: the run named by `run_dir`, whose vocabularies the inputs are encoded in.
        member_dirs: the other runs' directories (`ensemble`).

    Returns:
        An `Ensemble` of `run.model` first, then the members' models in order.

    Raises:
        UserError: naming the member whose files are damaged, whose target vocabulary
            differs from `run`'s, or whose source vocabulary cannot read `run`'s symbols.
    """
    models, maps = [run.model], [None]
    for member_dir in member_dirs:
        member = load_run(member_dir)
        where = f"ensemble={str(member_dir)!r}"
        if member.vocabs.target != run.vocabs.target:
            raise UserError(
                f"{where}: its target vocabulary differs from run_dir's "
                f"({_difference(member.vocabs.target, run.vocabs.target)}); allowed: runs "
                "whose target vocabularies equal run_dir's"
            )
        normalize = [run_normalization(r.config.task) for r in (member, run)]
        if normalize[0] != normalize[1]:  # its symbols are of other text than run_dir's
            raise UserError(
                f"{where}: it normalizes sources otherwise (task.normalize={normalize[0]}) "
                f"than run_dir ({normalize[1]}); allowed: runs whose task.normalize is "
                "run_dir's"
            )
        source, own = run.vocabs.source, member.vocabs.source
        # Another tokenizer, or other subword pieces, would cut the text otherwise: mapping
        # run_dir's symbols one by one would not be how the member reads it.
        if own.tokenizer != source.tokenizer or (own.tokenizer == "subword" and own != source):
            raise UserError(
                f"{where}: it reads the source with another tokenizer ({own.tokenizer}) or "
                f"other subword pieces than run_dir ({source.tokenizer}); allowed: runs whose "
                "source tokenizer is run_dir's"
            )
        try:
            maps.append(source_id_map(source, own))
        except KeyError as missing:
            raise UserError(
                f"{where}: its source vocabulary lacks run_dir's symbol {missing.args[0]!r} "
                "and has no <unk> to read it as; allowed: runs whose source vocabularies "
                "hold run_dir's symbols or have <unk>"
            ) from None
        models.append(member.model)
    return Ensemble(models, maps)


def _difference(member: Vocabulary, run: Vocabulary) -> str:
    """Where two vocabularies first differ, in a few words."""
    if member.tokenizer != run.tokenizer:
        return f"tokenizer {member.tokenizer} against {run.tokenizer}"
    for token_id, (own, theirs) in enumerate(zip(member.tokens, run.tokens)):
        if own != theirs:
            return f"id {token_id} is {own!r} against {theirs!r}"
    return f"{member.size} token ids against {run.size}"
