"""Keys whose null means "as suits the task": a generated toy task trains for a few epochs
and stops once it is solved (99.5% validation exact-match), a file of pairs until early
stopping finds its plateau, with batches grouped by length; `task=tsv` without a file
trains on the shipped sample.

Filled in when a config is composed and again when a run opens its directory, so that the
run's `config.yaml` holds the values it used and a resume compares like with like.
"""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq.config.shipped import sample_path

#: Validation exact-match at which a generated task counts as solved: half a point above
#: the 99% a user asks of a test split of the same size (1,000 sequences: a standard error
#: of about 0.3 points), so that test exact-match stays at 99% or more.
SOLVED = 0.995

#: What null means for a generated task and for files of pairs.
DEFAULTS = {
    "trainer.epochs": (3, 100),
    "trainer.early_stopping.monitor": ("val/exact_match", "val/token_error_rate"),
    "trainer.group_by_length": (False, True),
    "trainer.lr_schedule": ("cosine", "plateau"),
}
#: The shipped sample `task=tsv` trains on when neither `task.train_path` nor `task.path`
#: names a file (English number words to digits).
TSV_SAMPLE = "number_words.tsv"
#: Keys naming another run, resolved against the working directory when a config is
#: composed, so that the run records (and a resume compares) the directory first named.
PARENT_KEYS = ("trainer.init_from", "task.vocab_from")


def with_task_defaults(cfg: DictConfig) -> DictConfig:
    """A copy of the `train` config with every null key of `DEFAULTS` filled in for its task,
    for `task=tsv` without a file, `task.path` set to the shipped sample, and the keys
    naming another run (`PARENT_KEYS`) made absolute."""
    cfg = cfg.copy()
    files = cfg.task.name == "tsv"
    for key, values in DEFAULTS.items():
        if OmegaConf.select(cfg, key) is None:
            OmegaConf.update(cfg, key, values[files], merge=False)
    # A generated task is solved, and its run done, at SOLVED; a goal for another
    # metric, or on a file of pairs, is the user's to set.
    watch = cfg.trainer.early_stopping
    if not files and watch.goal is None and watch.monitor == "val/exact_match":
        watch.goal = SOLVED
    # The sample is what no file means, not a default of task.path: a default there would
    # clash with task.train_path=FILE (both would name the training file).
    if files and cfg.task.train_path is None and cfg.task.path is None and not cfg.task.train_paths:
        cfg.task.path = sample_path(TSV_SAMPLE)
    for key in PARENT_KEYS:
        value = OmegaConf.select(cfg, key)
        if value is not None:
            OmegaConf.update(cfg, key, str(Path(value).expanduser().resolve()), merge=False)
    return cfg
