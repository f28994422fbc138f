"""The way to any task's data: generated and cached, or read from a file of pairs."""

import dataclasses
import logging
from pathlib import Path
from typing import Optional, Tuple

from seq2seq.data import cache, generated, tsv
from seq2seq.data.splits import TaskData
from seq2seq.data.vocabulary import Vocabulary

log = logging.getLogger(__name__)


def load_task_data(
    task_cfg, seed: int, data_dir: str, vocab: Optional[Vocabulary] = None
) -> Tuple[TaskData, Path]:
    """The task's data: from the cache, generated and cached first if missing or damaged.

    A `tsv` task reads its file instead, encoded with `vocab` if given (a finished
    run's), else with a vocabulary built from its training split.

    Args:
        task_cfg: the `task` config group.
        seed: the run's seed.
        data_dir: where generated datasets are cached.
        vocab: a finished run's vocabulary (`tsv` only).

    Returns:
        The data and the path of its cache file (or of the tsv file).

    Raises:
        seq2seq_config.UserError: for a tsv file that cannot be used.
    """
    if task_cfg.name == "tsv":
        return tsv.load(task_cfg, seed, vocab), Path(task_cfg.path)
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
