"""What a run shows in TensorBoard beyond Keras' scalars and histograms.

- Text: the resolved config; after each epoch, a table of decoded validation samples
  (source | target | prediction | right?).
- Images: drawn by `tensorboard_images.py`.
- HParams: the run's hyperparameters and final metrics, so that the HParams dashboard
  compares the runs of a sweep, each named by the overrides it was started with.

All of it goes to the run's `tensorboard/` directory (the HParams session), beside
Keras' `train/` and `validation/`.
"""

import dataclasses
from collections.abc import Sequence

import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.hparams import api as hp

from seq2seq.text.vocabulary import EOS_ID, Vocabularies

HParamValue = str | float | int | bool


def flat_hparams(cfg: DictConfig) -> dict[str, HParamValue]:
    """The run's hyperparameters as flat `group.key: value` pairs (null as "null"; nested
    groups as `trainer.early_stopping.monitor`; a list as its override, `[a.tsv,b.tsv]`,
    since HParams holds no lists)."""
    flat = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif isinstance(value, list):
                flat[f"{prefix}{key}"] = "[" + ",".join(str(v) for v in value) + "]"
            else:
                flat[f"{prefix}{key}"] = "null" if value is None else value

    for group in ("task", "model", "trainer"):
        walk(OmegaConf.to_container(cfg[group], resolve=True), f"{group}.")
    flat["seed"] = cfg.seed
    return flat


#: Overrides that say where or how a run goes on, not what it is: left out of its name.
NOT_HYPERPARAMETERS = ("trainer.resume",)


def trial_name(cfg: DictConfig, overrides: Sequence[str] | None, fallback: str) -> str:
    """The run's name in HParams: the overrides it was started with that set its
    hyperparameters, as typed (`model=attention,model.units=64`), or "default".

    An override counts if it chooses a config group (`model=attention`) or sets a key that
    `flat_hparams` lists; places and views (`data_dir`, `logging.*`, `hydra.*`) and
    `NOT_HYPERPARAMETERS` do not.

    Args:
        cfg: the run's resolved config.
        overrides: the command line's overrides (Hydra's `overrides.task`); None for a run
            started without a command line (`seq2seq.train(cfg)` in Python).
        fallback: the name of a run without a command line (its directory).

    Returns:
        The name, which TensorBoard shows as the HParams trial.
    """
    if overrides is None:
        return fallback
    flat = flat_hparams(cfg)
    kept = []
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        chooses_group = "." not in key and not (key in cfg and not OmegaConf.is_dict(cfg[key]))
        if key not in NOT_HYPERPARAMETERS and (key in flat or chooses_group):
            kept.append(override)
    return ",".join(kept) or "default"


def command_line_overrides() -> list | None:
    """The overrides of the Hydra command running this process (None outside one)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else None


@dataclasses.dataclass(frozen=True)
class RunStart:
    """What TensorBoard shows of a run as it starts, resolved once from its config.

    Args:
        config_text: the resolved config, as YAML.
        hparams: its hyperparameters (`flat_hparams`).
        trial_id: its name in HParams (`trial_name`).
    """

    config_text: str
    hparams: dict
    trial_id: str


def run_start(cfg: DictConfig, fallback: str) -> RunStart:
    """A run's `RunStart`, named by the overrides of this process's command line.

    Args:
        cfg: the run's resolved config.
        fallback: its name without a command line (the run directory, as users see it).

    Returns:
        The config's text, hyperparameters and trial name.
    """
    name = trial_name(cfg, command_line_overrides(), fallback)
    return RunStart(OmegaConf.to_yaml(cfg, resolve=True), flat_hparams(cfg), name)


def write_run_start(writer, start: RunStart) -> None:
    """The resolved config as text, and the HParams session of this run.

    No experiment-wide `hparams_config` is written: TensorBoard then infers it from all
    the sessions it sees, marks the hyperparameters that differ between them, and shows
    those first; the metrics are the scalars of the session's sub-runs (`train/`,
    `validation/` and `final/`).
    """
    with writer.as_default(step=0):
        tf.summary.text("config", "```\n" + start.config_text + "```")
        hp.hparams(start.hparams, trial_id=start.trial_id)
    writer.flush()


def write_final_metrics(log_dir, metrics: dict[str, dict[str, float]], step: int) -> None:
    """The final validation and test metrics, in `log_dir/final`, where HParams finds them.

    HParams looks a metric up in the run `<session>/<group>`; scalars of the session's
    own directory would need the group ".", which it does not resolve.
    """
    writer = tf.summary.create_file_writer(str(log_dir) + "/final")
    with writer.as_default(step=step):
        for split, values in metrics.items():
            for name, value in values.items():
                tf.summary.scalar(f"{split}_{name}", value)
    writer.close()


def samples_table(vocabs: Vocabularies, sources, targets, predictions) -> str:
    """Markdown table of decoded samples: source | target | prediction | right?"""
    rows = ["| source | target | prediction | right |", "|---|---|---|---|"]
    for source, target, predicted in zip(sources, targets, predictions):
        source_text = vocabs.source.decode_text(source)
        target_text, predicted_text = (
            vocabs.target.decode_text(ids) for ids in (target, predicted)
        )
        right = target_text == predicted_text and EOS_ID in list(predicted)
        rows.append(
            f"| {source_text} | {target_text} | {predicted_text} | {'yes' if right else '**no**'} |"
        )
    return "\n".join(rows)
