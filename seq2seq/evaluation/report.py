"""An evaluation's report: the table printed, the JSON file and the TensorBoard figures.

Each evaluation writes a file of its own, named by what it measured, so that one never
overwrites another: `evaluation/<split>-<decoding>[-longer<min>-<max>x<size>].json`, the
split being `val`, `test` or `file-<name>` (`eval.file`).
"""

import json
from pathlib import Path

import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from seq2seq.evaluation.decoding import decoding_tag
from seq2seq_config.files import atomic_write_text

#: The figures of each part of a report, in the order of the table's columns.
FIGURES = ("loss", "token_accuracy", "exact_match")


def report_name(report: dict) -> str:
    """The report's file name (without `.json`): split, decoding, and the longer split."""
    name = f"{report['split']['name']}-{decoding_tag(OmegaConf.create(report['decoding']))}"
    longer = report["length_generalization"]
    if longer is not None:
        name += f"-longer{longer['min_len']}-{longer['max_len']}x{longer['size']}"
    return name


def format_report(report: dict[str, object]) -> str:
    """The report as a plain-text table."""
    split, longer = report["split"], report["length_generalization"]
    parts = [(split["name"], split)]
    if longer is not None:
        parts.append((f"longer {longer['min_len']}..{longer['max_len']}", longer))
    lines = [
        f"run: {report['run_dir']}    decoding: {decoding_tag(OmegaConf.create(report['decoding']))}",
        "",
        f"{'split':<16}{'sequences':>10}{'loss':>10}{'token acc':>11}{'exact match':>13}",
    ]
    for name, part in parts:
        lines.append(
            f"{name:<16}{part['size']:>10}{part['loss']:>10.4f}"
            f"{part['token_accuracy']:>11.4f}{part['exact_match']:>13.4f}"
        )
    header = f"{'length':<8}{split['name']:>10}" + (f"{'longer':>10}" if longer else "")
    lines += ["", "exact match by target length:", header]
    lengths = sorted({n for _, part in parts for n in part["exact_match_by_length"]})
    for n in lengths:
        cells = [part["exact_match_by_length"].get(n) for _, part in parts]
        text = "".join(f"{'' if c is None else f'{c:.4f}':>10}" for c in cells)
        lines.append(f"{n:<8}{text}")
    return "\n".join(lines)


def _json_ready(report):
    return json.loads(json.dumps(report, default=str))


def save_report(report: dict[str, object], cfg: DictConfig, epochs: int) -> Path:
    """Writes the report's JSON into the run directory and its figures to TensorBoard.

    Args:
        report: what `evaluate_run` returned.
        cfg: the `evaluate` config.
        epochs: the TensorBoard step to log at (the run's epochs).

    Returns:
        The JSON file's path.
    """
    run_dir = Path(cfg.run_dir)
    tag = decoding_tag(cfg.decoding)
    path = run_dir / "evaluation" / f"{report_name(report)}.json"
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(_json_ready(report), indent=2) + "\n")
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / "evaluation"))
    with writer.as_default(step=epochs):
        parts = (("split", report["split"]), ("longer", report["length_generalization"]))
        for name, part in (p for p in parts if p[1] is not None):
            prefix = f"evaluate/{tag}/{part.get('name', name)}"
            for metric in FIGURES:
                tf.summary.scalar(f"{prefix}/{metric}", part[metric])
            for length, value in part["exact_match_by_length"].items():
                tf.summary.scalar(f"{prefix}/exact_match_by_length/{length:03d}", value)
        tf.summary.text(
            f"evaluate/{report_name(report)}", "<pre>" + format_report(report) + "</pre>"
        )
    writer.close()
    return path
