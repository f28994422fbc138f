"""The way to any task's data: generated and cached, or read from a file of pairs."""

import dataclasses
import logging
from pathlib import Path

from seq2seq.data import cache, generated, tsv
from seq2seq.data.splits import TaskData
from seq2seq_config.task.pair_files import training_file

log = logging.getLogger(__name__)


def load_task_data(task_cfg, seed: int, data_dir: str) -> tuple[TaskData, Path]:
    """The task's data: from the cache, generated and cached first if missing or damaged.

    A `tsv` task reads its files instead (`seq2seq.data.tsv`), its encoded training
    pairs cached under `data_dir/tsv/`.

    Args:
        task_cfg: the `task` config group.
        seed: the run's seed.
        data_dir: where generated datasets and encoded files of pairs are cached.

    Returns:
        The data and the path of its cache file (or of the training file of pairs).

    Raises:
        seq2seq_config.UserError: for a file of pairs that cannot be used.
    """
    if task_cfg.name == "tsv":
        return tsv.load(task_cfg, seed, data_dir), Path(training_file(task_cfg))
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
