"""An evaluation's report: the table printed, the JSON file and the TensorBoard figures.

Its figures are the metrics table's (`seq2seq.config.schema.METRICS`) and the
outputs cut short: a metric added there and to the evaluator appears in all three.

Each evaluation writes a file of its own, named by what it measured, so that one never
overwrites another: `evaluation/<split>-<decoding>[-longer<min>-<max>x<size>].json`, the
split being `val`, `test` or `file-<name>` (`eval.file`). An ensemble's adds
`-ensemble<runs>-<digest>` after the decoding (`ensemble_tag`), and logs to TensorBoard
under that tag too, so that its figures never replace the run's own.
"""

import hashlib
import json
from pathlib import Path

import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from seq2seq.base.files import atomic_write_text
from seq2seq.base.names import EVALUATION_DIR, TENSORBOARD_DIR
from seq2seq.config.schema import METRICS
from seq2seq.decoding.strategies import decoding_tag

#: The column of outputs the length bound cut short (a count, printed as one).
TRUNCATED = "truncated"
#: The figures measured with the teacher's forcing, on the whole split only.
TEACHER_FORCED = ("loss", "token_accuracy")
#: Column titles where a metric's name is not its title (`title`).
TITLES = {
    "token_accuracy": "token acc",
    "exact_match_any": "exact any",
    "token_error_rate": "error rate",
    "token_error_rate_any": "error any",
    "bleu": "BLEU",
    "chrf": "chrF",
}


def figures() -> tuple:
    """The figures of each part of a report, as TensorBoard scalars: every metric of the one
    table (`seq2seq.config.schema.METRICS`, read when called), then `truncated`."""
    return (*METRICS, TRUNCATED)


def decoded_figures() -> tuple:
    """The figures measured on decoded sequences, also by target length: the metrics that
    are not teacher-forced."""
    return tuple(m for m in METRICS if m not in TEACHER_FORCED)


def title(metric: str) -> str:
    """A metric's column title: `TITLES`, or its name with spaces (`exact match`)."""
    return TITLES.get(metric, metric.replace("_", " "))


def ensemble_tag(report: dict) -> str:
    """`-ensemble<runs>-<digest>` for an ensemble's report, "" for one run's: how many
    models decoded and 8 hex digits of the members' resolved paths, in order, so that
    another ensemble of the same run gets another name."""
    members = report.get("ensemble") or []
    if not members:
        return ""
    paths = "\n".join(str(Path(member).resolve()) for member in members)
    return f"-ensemble{len(members) + 1}-{hashlib.sha1(paths.encode()).hexdigest()[:8]}"


def report_name(report: dict) -> str:
    """The report's file name (without `.json`): split, decoding, ensemble, and the longer
    split."""
    name = f"{report['split']['name']}-{decoding_tag(OmegaConf.create(report['decoding']))}"
    name += ensemble_tag(report)
    if report["decoding"].get("max_tokens") is not None:  # another bound, another file
        name += f"-max{report['decoding']['max_tokens']}"
    longer = report["length_generalization"]
    if longer is not None:
        name += f"-longer{longer['min_len']}-{longer['max_len']}x{longer['size']}"
    return name


def _cell(value, width: int) -> str:
    return f"{'' if value is None else f'{value:.4f}':>{width}}"


def _count(value, width: int = 11) -> str:
    return f"{'' if value is None else value:>{width}}"


def format_report(report: dict[str, object]) -> str:
    """The report as plain-text tables: the figures of each split, then by target length."""
    split, longer = report["split"], report["length_generalization"]
    parts = [(split["name"], split)]
    if longer is not None:
        parts.append((f"longer {longer['min_len']}..{longer['max_len']}", longer))
    decoded = [m for m in decoded_figures() if m in split]
    bound = report.get("length_bound")
    lines = [
        f"run: {report['run_dir']}    decoding: {decoding_tag(OmegaConf.create(report['decoding']))}",
        *(
            [f"ensemble: with {', '.join(report['ensemble'])} (log-probabilities averaged)"]
            if report.get("ensemble")
            else []
        ),
        *([f"length bound: {bound['in_words']}"] if bound else []),
        "",
        f"{'split':<16}{'sequences':>10}{title('loss'):>10}{title('token_accuracy'):>11}"
        + "".join(f"{title(m):>13}" for m in decoded)
        + f"{TRUNCATED:>11}",
    ]
    for name, part in parts:
        lines.append(
            f"{name:<16}{part['size']:>10}{part['loss']:>10.4f}{part['token_accuracy']:>11.4f}"
            + "".join(_cell(part[m], 13) for m in decoded)
            + _count(part.get(TRUNCATED))
        )
    if "oracle_exact_match" in split:  # evaluate with decoding.n_best=K
        n_best = report["decoding"].get("n_best")
        lines.append(
            f"oracle exact match (any of {n_best} best): {split['oracle_exact_match']:.4f}"
        )
    for name, part in parts:
        lines += [
            "",
            f"{name} by target length:",
            f"{'length':<8}{'sequences':>10}"
            + "".join(f"{title(m):>13}" for m in decoded)
            + f"{TRUNCATED:>11}",
        ]
        for n, of_length in sorted(part["by_length"].items(), key=lambda item: int(item[0])):
            lines.append(
                f"{n:<8}{of_length['sequences']:>10}"
                + "".join(_cell(of_length.get(m), 13) for m in decoded)
                + _count(of_length.get(TRUNCATED))
            )
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
    tag = decoding_tag(cfg.decoding) + ensemble_tag(report)
    path = run_dir / EVALUATION_DIR / f"{report_name(report)}.json"
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(_json_ready(report), indent=2) + "\n")
    writer = tf.summary.create_file_writer(str(run_dir / TENSORBOARD_DIR / EVALUATION_DIR))
    with writer.as_default(step=epochs):
        parts = (("split", report["split"]), ("longer", report["length_generalization"]))
        for name, part in (p for p in parts if p[1] is not None):
            prefix = f"evaluate/{tag}/{part.get('name', name)}"
            for metric in (m for m in figures() if m in part):
                tf.summary.scalar(f"{prefix}/{metric}", part[metric])
            for length, of_length in part["by_length"].items():
                for metric in (m for m in (*decoded_figures(), TRUNCATED) if m in of_length):
                    tf.summary.scalar(
                        f"{prefix}/{metric}_by_length/{int(length):03d}", of_length[metric]
                    )
        tf.summary.text(
            f"evaluate/{report_name(report)}", "<pre>" + format_report(report) + "</pre>"
        )
    writer.close()
    return path
