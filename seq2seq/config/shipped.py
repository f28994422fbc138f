"""Where the files that ship with the package lie: the Hydra configs and the sample files
of pairs.

In a checkout they are the top-level `configs/` and the samples in `data/`, where users
read and edit them; an installed wheel carries the same files inside this package
(`seq2seq/configs/`, `seq2seq/samples/`), which `setup.py` maps from those
folders when it builds, so that there is one copy of each in the repository. A package
directory is looked for first: a checkout never has one, and the folder above an
installed package (site-packages) may hold anybody's `configs/`.
"""

from pathlib import Path

from omegaconf import OmegaConf

from seq2seq.base.errors import UserError

#: The `seq2seq` package (this module is in its `config/`).
_PACKAGE = Path(__file__).resolve().parent.parent


def _shipped_dir(packaged: str, checkout: str) -> Path:
    """The directory of shipped files: inside the installed package, or in the checkout.

    Raises:
        FileNotFoundError: if neither exists (a broken installation, not a user's mistake).
    """
    for candidate in (_PACKAGE / packaged, _PACKAGE.parent / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the package's {packaged} are missing: neither {_PACKAGE / packaged} (installed) "
        f"nor {_PACKAGE.parent / checkout} (a checkout) exists; reinstall the package"
    )


#: The project's Hydra config directory.
CONFIG_DIR = _shipped_dir("configs", "configs")
#: The sample files of pairs (`task=tsv`, `experiment=dates`, `experiment=tense_subword`).
SAMPLES_DIR = _shipped_dir("samples", "data")
#: The samples, by file name.
SAMPLES = ("dates.tsv", "number_words.tsv", "tense_pairs.tsv")


def sample_path(name: str) -> str:
    """The absolute path of a shipped sample, wherever the command runs.

    Args:
        name: the sample's file name, one of `SAMPLES`.

    Returns:
        The path, as a string (what a config's path keys hold).

    Raises:
        UserError: for a name that is not a shipped sample.
    """
    if name not in SAMPLES:
        raise UserError(f"${{sample:{name}}}: no such sample; allowed: {', '.join(SAMPLES)}")
    return str(SAMPLES_DIR / name)


def register_sample_resolver() -> None:
    """Registers `${sample:NAME}`, which configs use to name a shipped sample: it resolves
    to the sample's absolute path, so that it is found from any working directory and
    the run's `config.yaml` records the file it read."""
    if not OmegaConf.has_resolver("sample"):
        OmegaConf.register_new_resolver("sample", sample_path)
