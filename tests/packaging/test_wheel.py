"""The wheel works without the checkout: built from a copy of the sources, installed into a
fresh virtual environment outside the repository, its console scripts train, evaluate and
predict from an empty directory, with the shipped configs and samples and a user's own
config directory.

The fresh environment reuses the pinned dependencies of the test's own environment
without a network: a `.pth` file adds that environment's site-packages to its path. A
`.pth` line that is a plain path is added as is, and the `.pth` files inside that directory
are not run, so the checkout's editable install (a finder that one of them installs) stays
out, and `seq2seq` is the installed copy.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, TINY, imported_modules
from seq2seq.base.version import __version__

pytestmark = pytest.mark.slow

#: What the copy of the sources leaves out: the environment, version control, outputs,
#: caches and earlier builds (a build writes into its source tree).
IGNORED = (".venv", ".git", "outputs", "multirun", "build", "dist", "*.egg-info", "__pycache__")
IGNORED += (".pytest_cache", "tests", "benchmarks")
COMMANDS = (
    "seq2seq-train",
    "seq2seq-evaluate",
    "seq2seq-predict",
    "seq2seq-score",
    "seq2seq-export",
    "seq2seq-modes",
    "seq2seq-runs",
)
#: A user's own experiment, in the config directory they pass with --config-dir: the
#: shipped sample of pairs (`task=tsv` without a file), at the tiny sizes that apply to a
#: file of pairs (its lengths and vocabulary are its own).
EXPERIMENT = "# @package _global_\ndefaults:\n  - override /task: tsv\n" + OmegaConf.to_yaml(
    OmegaConf.from_dotlist(
        [o for o in TINY if o.startswith(("task.val", "task.test", "model", "trainer", "log"))]
    )
)


def _copy_sources(target: Path) -> Path:
    """The checkout's files, without what git ignores there (generated datasets in data/)."""

    def ignore(directory, names):
        ignored = set(shutil.ignore_patterns(*IGNORED)(directory, names))
        if Path(directory) == ROOT / "data":  # datasets cached in folders of their own
            ignored |= {name for name in names if (Path(directory) / name).is_dir()}
        return ignored

    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _run(command, cwd, timeout=120) -> subprocess.CompletedProcess:
    """Runs a command without the test's PYTHONPATH; asserts that it succeeds."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel, built and installed into a fresh environment; an empty working directory.

    Returns:
        A namespace: `wheel`, `bin` (the environment's scripts), `python`, `site` (its
        site-packages) and `work` (an empty directory outside the checkout).
    """
    base = tmp_path_factory.mktemp("packaging")
    sources = _copy_sources(base / "sources")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--no-cache-dir", "--wheel-dir", base / "dist", sources],
        cwd=base,
    )  # fmt: skip
    (wheel,) = (base / "dist").glob("seq2seq-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    python = venv / "bin" / "python"
    site = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=base)
        .stdout.strip()
    )  # fmt: skip
    (site / "pinned_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # --ignore-installed: pip sees the checkout's editable install on the path, and must
    # neither count it as this environment's nor touch it.
    _run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir",
         "--ignore-installed", "--quiet", wheel],
        cwd=base,
    )  # fmt: skip
    work = base / "work"
    work.mkdir()
    return SimpleNamespace(wheel=wheel, bin=venv / "bin", python=python, site=site, work=work)


@pytest.fixture(scope="module")
def user_run(installed):
    """A tiny run of `seq2seq-train --config-dir my_configs experiment=tiny` from the empty
    directory, the experiment being the user's own file, the data the shipped sample.

    Returns:
        The run directory.
    """
    work = installed.work
    (work / "my_configs" / "experiment").mkdir(parents=True)
    (work / "my_configs" / "experiment" / "tiny.yaml").write_text(EXPERIMENT)
    _run(
        [installed.bin / "seq2seq-train", "--config-dir", "my_configs", "experiment=tiny",
         "hydra.run.dir=runs/tiny"],
        cwd=work,
    )  # fmt: skip
    return work / "runs" / "tiny"


def test_the_wheel_holds_every_package_the_configs_and_the_samples(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    sources = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "seq2seq").rglob("*.py")
        if "__pycache__" not in path.parts
    ]
    assert {"seq2seq/data", "seq2seq/model", "seq2seq/training", "seq2seq/evaluation",
            "seq2seq/serving"} <= {Path(name).parent.as_posix() for name in sources}  # fmt: skip
    assert set(sources) <= names
    configs = [path.relative_to(ROOT).as_posix() for path in (ROOT / "configs").rglob("*.yaml")]
    assert len(configs) > 20
    assert {f"seq2seq/{name}" for name in configs} <= names
    samples = {f"seq2seq/samples/{path.name}" for path in (ROOT / "data").glob("*.tsv")}
    assert len(samples) == 3 and samples <= names
    metadata = zipfile.ZipFile(installed.wheel).read(f"seq2seq-{__version__}.dist-info/METADATA")
    assert f"Version: {__version__}\n" in metadata.decode()


def test_the_installed_copy_is_the_one_imported(installed):
    result = _run(
        [installed.python, "-c",
         "import importlib.util as u, seq2seq.config.shipped as s; "
         "print(u.find_spec('seq2seq').origin); print(s.__file__); print(s.CONFIG_DIR); "
         "print(s.SAMPLES_DIR)"],
        cwd=installed.work,
    )  # fmt: skip
    for line in result.stdout.split():
        assert Path(line).is_relative_to(installed.site), line
        assert not Path(line).is_relative_to(ROOT), line


def test_each_command_prints_the_version_without_loading_tensorflow(installed):
    for command in COMMANDS:
        result = _run(
            [installed.python, "-X", "importtime", installed.bin / command, "--version"],
            cwd=installed.work,
        )
        assert result.stdout == f"seq2seq {__version__}\n", command
        assert "tensorflow" not in imported_modules(result.stderr), command
    checkout = _run([sys.executable, ROOT / "train.py", "--version"], cwd=installed.work)
    assert checkout.stdout == f"seq2seq {__version__}\n"


def test_a_users_experiment_on_the_shipped_sample_trains_from_an_empty_directory(
    installed, user_run
):
    assert json.loads((user_run / "metrics.json").read_text())["test"]["exact_match"] >= 0
    assert json.loads((user_run / "run.json").read_text())["version"] == __version__
    config = OmegaConf.load(user_run / "config.yaml")
    assert config.model.units == 16 and config.task.val_size == 32
    # The sample inside the installed package, by its absolute path.
    sample = installed.site / "seq2seq" / "samples" / "number_words.tsv"
    assert config.task.path == str(sample)
    assert (user_run / "train.log").is_file()
    assert not (ROOT / "runs").exists()


def test_evaluate_and_predict_from_an_empty_directory(installed, user_run):
    evaluated = _run(
        [installed.bin / "seq2seq-evaluate", f"run_dir={user_run}"],
        cwd=installed.work,
    )
    written = Path(evaluated.stdout.strip().splitlines()[-1].removeprefix("written: "))
    assert written.is_file() and written.is_relative_to(user_run / "evaluation")
    predicted = _run(
        [installed.bin / "seq2seq-predict", f"run_dir={user_run}", "input=four hundred and two"],
        cwd=installed.work,
    )
    (output,) = predicted.stdout.splitlines()
    assert set(output.split()) <= set("0123456789"), output
