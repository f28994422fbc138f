"""Composing, validating and running documented commands as the shell would run them.

The docs assume a checkout with a few files of the user's own (`my_pairs.tsv`,
`train.tsv`, ...) and finished runs (`DIR`, `runs/dates`): `make_workspace` writes the
files from the shipped samples, and the runs come from documented training commands run
in a tiny form (`TRAINED`).
"""

import contextlib
import importlib
import importlib.util
import io
import itertools
import logging
import os
import runpy
import sys
from pathlib import Path

import forked
from documented import ROOT, Command, config_files, hydra_command_line, parse
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from conftest import write_cmudict_split
from run_dirs import local_time, write_run
from seq2seq import CONFIG_DIR, register_configs, validate
from seq2seq.base.names import RUN_RECORD
from seq2seq.cli.runner import check_output_dirs
from seq2seq.config.task_defaults import with_task_defaults

#: The documented training commands the tests run for real, in a tiny form: the runs
#: that the documented evaluate and predict lines name are theirs.
TRAINED = (
    "python train.py",
    "python train.py model=attention hydra.run.dir=outputs/2026-11-22/10-00-00",
    "python train.py task=addition task.max_source_symbols=4 trainer.epochs=20",
    "python train.py task=tsv",
    "python train.py task=tsv task.train_path=train.tsv task.val_path=dev.tsv task.test_path=test.tsv",
    "python train.py experiment=dates hydra.run.dir=runs/dates",
    # After its parent, runs/dates.
    "python train.py experiment=dates task.path=more_dates.tsv trainer.init_from=runs/dates hydra.run.dir=runs/dates_more",
    "python train.py experiment=dates task.path=null 'task.train_paths=[data/dates.tsv,more_dates.tsv]' 'task.train_weights=[0.3,0.7]' task.val_path=runs/dates/held_out/val.tsv task.test_path=runs/dates/held_out/test.tsv trainer.init_from=runs/dates hydra.run.dir=runs/dates_replay",
    "python train.py experiment=cmudict hydra.run.dir=runs/cmudict",
    "python train.py model.units=64 trainer.epochs=3",
)
#: What `run_dir=DIR` stands for: the run of the training command whose data a line's
#: input is (found by a piece of the line); any other line's DIR is the default run's.
DIR_RUNS = {
    "1 2 + 3 4": "python train.py task=addition task.max_source_symbols=4 trainer.epochs=20",
    "four hundred and two": "python train.py task=tsv",
    "3 March 2021": "python train.py experiment=dates hydra.run.dir=runs/dates",
}
DEFAULT_RUN = "python train.py"
#: What the runs of an `ensemble=[DIR2,DIR3]` line stand for: other runs of the default
#: run's task (the same vocabularies), each its own.
ENSEMBLE_RUNS = {
    "DIR2": "python train.py model=attention hydra.run.dir=outputs/2026-11-22/10-00-00",
    "DIR3": "python train.py model.units=64 trainer.epochs=3",
}
#: Run directories the docs write for any finished run.
PLACEHOLDERS = ("DIR", "outputs/DATE/TIME")
#: Appended to a trained command: an epoch of a small model on a small split, so that
#: every run takes seconds; symbols and lengths stay the documented ones (predict's
#: examples type them).
TINY_RUN = (
    "task.train_size=256",
    "task.val_size=32",
    "task.test_size=32",
    "model.units=16",
    "model.embedding_dim=8",
    "trainer.epochs=1",
    "trainer.average_checkpoints=0",  # of one epoch: nothing to average
    "trainer.batch_size=256",
    "trainer.time_budget=null",  # an epoch, not the 45 minutes of experiment=cmudict
    "logging.images=false",
    "logging.samples=0",
    "logging.histogram_freq=0",
    # Not auto, which on a CPU with AMX or AVX-512 BF16 times both precisions (about 14 s
    # a run there, each documented model once): as conftest's TINY, and
    # tests/training/test_precision_choice.py runs auto.
    "trainer.precision=float32",
)


def make_workspace(path: Path) -> Path:
    """Writes the files the docs assume a user has, into `path`, from the shipped samples.

    `data/` holds the samples (links to the checkout's); `my_pairs.tsv` is the number
    words, `train.tsv`, `dev.tsv` and `test.tsv` the same cut in three; `other_pairs.tsv`
    holds reversals, `pairs.tsv` reversals and a copy (to score), `bad_pairs.tsv` a symbol
    outside the vocabulary, `inputs.txt` sequences of numbers, `dates.txt` dates as written;
    the config files the docs show whole are written where they say.
    """
    (path / "data").mkdir(parents=True)
    for sample in (ROOT / "data").glob("*.tsv"):
        (path / "data" / sample.name).symlink_to(sample)
    lines = (ROOT / "data" / "number_words.tsv").read_text().splitlines(keepends=True)
    (path / "my_pairs.tsv").write_text("".join(lines))
    (path / "train.tsv").write_text("".join(lines[:-400]))
    (path / "dev.tsv").write_text("".join(lines[-400:-200]))
    (path / "test.tsv").write_text("".join(lines[-200:]))
    sources = ["3 1 4", "2 7 1 8", "9 0 5 5 1"]
    reversals = [f"{s}\t{' '.join(reversed(s.split()))}\n" for s in sources]
    (path / "other_pairs.tsv").write_text("".join(reversals))
    # For score: reversals and one pair that is not; and a target symbol (12) no run has.
    (path / "pairs.tsv").write_text("".join(reversals) + "3 1 4\t3 1 4\n")
    (path / "bad_pairs.tsv").write_text("3 1 4\t4 1 3\n2 7\t7 12\n")
    (path / "inputs.txt").write_text("3 1 4 1 5\n2 7 1 8\n")
    # Dates to fine-tune a dates run on: another part of the sample.
    (path / "more_dates.tsv").write_text(
        "".join(
            line + "\n" for line in (ROOT / "data" / "dates.tsv").read_text().splitlines()[-2000:]
        )
    )
    dates = (ROOT / "data" / "dates.tsv").read_text().splitlines()[:3]
    (path / "dates.txt").write_text("".join(line.split("\t")[0] + "\n" for line in dates))
    write_cmudict_split(path / "data" / "cmudict")
    for name, text in config_files().items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def write_listed_runs(path: Path) -> Path:
    """Writes, under `path`, the runs that docs/experiments.md's `seq2seq-runs` lines list,
    at the times its example shows: the sweep shown above it (`model=lstm,attention
    model.units=32,64`), a run fine-tuned from its last job with three epochs averaged, an
    interrupted run, and a damaged one (its run.json cut short by a copy).

    Returns:
        `path`, the working directory the lines run in.
    """
    sweep = path / "multirun" / "2026-12-07" / "10-03-11"
    jobs = [
        ("lstm", 32, (0.515, 0.91), (0.495, 0.93), 27.23),
        ("lstm", 64, (0.71, 0.55), (0.69, 0.58), 27.4),
        ("attention", 32, (0.995, 0.04), (0.99, 0.05), 23.95),
        ("attention", 64, (0.995, 0.03), (0.995, 0.03), 29.31),
    ]
    for number, (model, units, val, test, seconds) in enumerate(jobs):
        write_run(
            sweep / str(number), overrides=[f"model={model}", f"model.units={units}"],
            units=units, val=val, test=test, when=local_time(2026, 12, 7, 10, 4 + number // 2),
            train_seconds=seconds,
        )  # fmt: skip
    outputs = path / "outputs" / "2026-12-07"
    write_run(
        outputs / "11-20-05", units=64, val=(0.98, 0.07), test=(0.975, 0.08), epochs=8,
        overrides=["model=attention", "model.units=64", "task=tsv", "task.path=my_pairs.tsv",
                   "trainer.init_from=multirun/2026-12-07/10-03-11/3"],
        init_from=str(sweep / "3"), averaged_epochs=[6, 7, 8], train_seconds=755.2,
        when=local_time(2026, 12, 7, 11, 33),
    )  # fmt: skip
    write_run(
        outputs / "12-02-44", status="interrupted", units=512, epochs=7,
        overrides=["model.units=512", "trainer.epochs=50"], when=local_time(2026, 12, 7, 12, 9),
    )  # fmt: skip
    damaged = write_run(outputs / "09-12-40", status="failed", when=local_time(2026, 12, 7, 9, 20))
    record = damaged / RUN_RECORD
    record.write_text(record.read_text()[:30])
    os.utime(record, (local_time(2026, 12, 7, 9, 20),) * 2)
    return path


@contextlib.contextmanager
def shell(cwd: Path, env: dict | None = None):
    """Runs the block in `cwd` with `env` added to the environment, as a shell would;
    restores both after."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with contextlib.chdir(cwd):
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def combinations(overrides: list, multirun: bool) -> list:
    """Each job's overrides: one per combination of a multirun's comma lists.

    Raises:
        AssertionError: for a comma list without `-m`, which Hydra refuses.
    """
    parsed = OverridesParser.create().parse_overrides(overrides)
    assert multirun or not any(o.is_sweep_override() for o in parsed), overrides
    choices = [
        [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
        if o.is_sweep_override()
        else [o.input_line]
        for o in parsed
    ]
    return [list(combo) for combo in itertools.product(*choices)]


def search_space(cfg: DictConfig) -> list:
    """Overrides that visit every point a sweeper searches (`hydra.sweeper.params`) at
    least once: each choice, and both ends of each interval, the others cycling."""
    params = cfg.hydra.sweeper.get("params") or {}
    choices = []
    for key, value in params.items():
        (override,) = OverridesParser.create().parse_overrides([f"{key}={value}"])
        if override.is_interval_sweep():
            sweep = override.value()
            choices.append([f"{key}={sweep.start}", f"{key}={sweep.end}"])
        else:
            choices.append([f"{key}={v}" for v in override.sweep_string_iterator()])
    points = max((len(values) for values in choices), default=0)
    return [[values[i % len(values)] for values in choices] for i in range(points)]


def compose_train(overrides: list, config_dir: str | None = None, multirun: bool = False):
    """The config `python train.py [--config-dir DIR] [-m] OVERRIDES` composes for a job,
    Hydra's node included (so that `hydra.*` overrides are checked too)."""
    # Hydra's compose API takes no --config-dir: this is how `hydra.main` sets Hydra up
    # (hydra/_internal/utils.py, `_run_hydra`); an upgrade that moves it fails here.
    register_configs()
    search_path = create_config_search_path(str(CONFIG_DIR))
    if config_dir is not None:
        assert Path(config_dir).is_dir(), f"--config-dir {config_dir}: no such directory"
        search_path.prepend(
            provider="command-line",
            path=f"file://{Path(config_dir).resolve()}",
            anchor=SearchPathQuery(provider="schema"),
        )
    hydra = Hydra.create_main_hydra2(task_name="train", config_search_path=search_path)
    try:
        mode = RunMode.MULTIRUN if multirun else RunMode.RUN
        return hydra.compose_config(config_name="train", overrides=overrides, run_mode=mode)
    finally:
        GlobalHydra.instance().clear()


def without_hydra(cfg: DictConfig) -> DictConfig:
    """The training config itself, as the job sees it, null keys filled for the task."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra")
    return with_task_defaults(cfg)


def validated_train_configs(command: Command) -> list:
    """Composes and validates each job of a documented train command, as `train.py`
    does before TensorFlow loads (the run directory's own checks aside).

    Returns:
        The validated training configs, one per job (and per point of a search space).
    """
    line = hydra_command_line(command)
    check_output_dirs(list(line.overrides))
    # A fine-tuning line's parent is a run of TRAINED, which the slow tests train in tiny
    # form before the line's own tiny form trains (and checks the parent); the line as
    # written is checked here without it, nor the files it reads from the parent's directory.
    parent = command.value("trainer.init_from")
    if parent is not None:
        assert parent in [run_dir_of_training(text) for text in TRAINED], (
            f"{command}: trainer.init_from={parent} is no run the tests train; add the "
            "command that trains it to TRAINED in tests/docs/doc_runs.py, before this one"
        )
    configs = []
    for job in combinations(list(line.overrides), line.multirun):
        cfg = compose_train(job, line.config_dir, line.multirun)
        for point in search_space(cfg) or [[]]:
            if point:
                cfg = compose_train([*job, *point], line.config_dir, line.multirun)
            job_cfg = without_hydra(cfg)
            if parent is not None:
                job_cfg.trainer.init_from = None
                for key in ("val_path", "test_path"):  # the parent's held-out pairs
                    if str(job_cfg.task[key] or "").startswith(f"{parent}/"):
                        job_cfg.task[key] = None
            validate(job_cfg)
            configs.append(job_cfg)
    return configs


def same_command(command: Command, text: str) -> bool:
    """Whether a documented command is the one `text` writes (the same program and
    arguments; spacing and comments aside)."""
    other = parse("", text)
    return (command.kind, command.args) == (other.kind, other.args)


def run_dir_of_training(text: str) -> str:
    """Where a command of `TRAINED` runs: its own `hydra.run.dir`, or one of its own."""
    command = parse("", text)
    return command.value("hydra.run.dir") or f"trained/{TRAINED.index(text)}"


def run_dir_for(command: Command) -> str:
    """The run directory, in the workspace, that an evaluate, predict or score line names.

    Raises:
        AssertionError: naming the line, if no command of `TRAINED` trains it.
    """
    run_dir = command.value("run_dir")
    if run_dir in PLACEHOLDERS:
        pieces = [text for piece, text in DIR_RUNS.items() if piece in command.text]
        return run_dir_of_training(pieces[0] if pieces else DEFAULT_RUN)
    known = [run_dir_of_training(text) for text in TRAINED]
    assert run_dir in known, (
        f"{command}: run_dir={run_dir} is no run the tests train; add the documented "
        "command that trains it to TRAINED in tests/docs/doc_runs.py, or map it in DIR_RUNS"
    )
    return run_dir


def ensemble_dirs_for(command: Command) -> list:
    """The run directories, in the workspace, that an evaluate or predict line's
    `ensemble=[...]` names (none without one).

    Raises:
        AssertionError: naming the line, if no command of `TRAINED` trains one of them.
    """
    value = command.value("ensemble")
    if value is None:
        return []
    entries = [entry.strip() for entry in value.strip("[]").split(",") if entry.strip()]
    known = [run_dir_of_training(text) for text in TRAINED]
    dirs = [run_dir_of_training(ENSEMBLE_RUNS[e]) if e in ENSEMBLE_RUNS else e for e in entries]
    unknown = [entry for entry in dirs if entry not in known]
    assert not unknown, (
        f"{command}: ensemble entries {unknown} are no runs the tests train; map them in "
        "ENSEMBLE_RUNS in tests/docs/doc_runs.py, or add the command that trains them to TRAINED"
    )
    return dirs


def with_run_dir(command: Command) -> list:
    """An evaluate, predict or score line's arguments, its placeholder runs replaced by real
    ones."""
    run_dir, members = run_dir_for(command), ensemble_dirs_for(command)
    args = [f"run_dir={run_dir}" if a.startswith("run_dir=") else a for a in command.args]
    return [f"ensemble=[{','.join(members)}]" if a.startswith("ensemble=") else a for a in args]


def run_script(kind: str, args: list, cwd: Path, env: dict | None = None):
    """Runs a command in a process of its own, as its command line does, from `cwd` (forked
    from one with TensorFlow imported: tests/forked.py).

    Returns:
        The finished process, its output captured.
    """
    program = [str(ROOT / "train.py")] if kind == "train" else ["-m", f"seq2seq.{kind}"]
    return forked.run(
        [sys.executable, *program, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def train_in_process(args: list, cwd: Path) -> int:
    """Runs `python train.py ARGS` in this process (TensorFlow loads once for all runs),
    from `cwd`, and returns its exit status.

    Hydra configures logging afresh for the job, closing every handler there was, and
    points the root logger at the run's log: the root logger's handlers are put back after.
    Its output is not captured: absl's handler closes a stream that is not `sys.stderr`.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved_argv, status = sys.argv, 0
    try:
        with shell(cwd):
            sys.argv = [str(ROOT / "train.py"), *args]
            runpy.run_path(str(ROOT / "train.py"), run_name="__main__")
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        sys.argv = saved_argv
        for handler in root.handlers[:]:
            handler.close()
            root.removeHandler(handler)
        root.handlers[:], root.level = handlers, level
    return status


def call_main(kind: str, args: list, cwd: Path) -> tuple:
    """Runs `python -m seq2seq.KIND ARGS` in this process through its module's `main`,
    from `cwd`.

    Returns:
        (exit status, stdout, stderr).
    """
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with shell(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = importlib.import_module(f"seq2seq.{kind}").main(list(args))
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return status, out.getvalue(), err.getvalue()
