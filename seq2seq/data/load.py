"""The way to any task's data: generated and cached, or read from a file of pairs."""

import dataclasses
import logging
from pathlib import Path

from seq2seq.base.names import VOCAB_FILE
from seq2seq.data import cache, generated, tsv
from seq2seq.data.splits import TaskData
from seq2seq.text.pair_files import training_file
from seq2seq.text.vocabulary import Vocabularies, vocabulary_parent

log = logging.getLogger(__name__)


def vocabulary_home(cfg, run_dir: Path, resuming: bool) -> Path | None:
    """The run directory whose vocabularies (and length bound) this run starts from, or None.

    That is the parent `task.vocab_from` or `trainer.init_from` names; a resumed run's own
    directory, once it saved them (the parent's with what it appended), so that resuming
    needs nothing outside the run.
    """
    parent = vocabulary_parent(cfg)
    if parent is None:
        return None
    if resuming and (Path(run_dir) / VOCAB_FILE).is_file():
        return Path(run_dir)
    return Path(parent)


def load_task_data(
    task_cfg, seed: int, data_dir: str, base: Vocabularies | None = None
) -> tuple[TaskData, Path]:
    """The task's data: from the cache, generated and cached first if missing or damaged.

    A `tsv` task reads its files instead (`seq2seq.data.tsv`), its encoded training
    pairs cached under `data_dir/tsv/`.

    Args:
        task_cfg: the `task` config group.
        seed: the run's seed.
        data_dir: where generated datasets and encoded files of pairs are cached.
        base: for a file of pairs, vocabularies to start from (`tsv.load`).

    Returns:
        The data and the path of its cache file (or of the training file of pairs).

    Raises:
        seq2seq.UserError: for a file of pairs that cannot be used.
    """
    if task_cfg.name == "tsv":
        return tsv.load(task_cfg, seed, data_dir, base), Path(training_file(task_cfg))
    path = cache.cache_path(task_cfg, seed, data_dir)
    data = None
    if path.exists():
        try:
            data = cache.load(path)
        except ValueError as error:
            log.warning("Regenerating the dataset: %s", error)
    if data is None:
        data = generated.generate(task_cfg, seed)
        cache.save(data, path)
    return dataclasses.replace(data, record={"cache": str(path)}), path
