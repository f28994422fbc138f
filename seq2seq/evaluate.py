"""`python -m seq2seq.evaluate run_dir=DIR [key=value ...]`: measure a finished run.

Reports, for one split (`split=val|test`, default test): loss, token accuracy,
exact-match and exact-match for each target length; and length generalization on a
split generated with lengths beyond the training range (`eval.min_len`, `eval.max_len`,
by default the run's task.max_len + 1 .. + 5). Decodes greedily unless `decoding=beam`
or `decoding=sample` (and their keys) say otherwise.

Prints a table, writes `DIR/evaluation/<split>-<decoding>.json` and logs the figures to
the run's TensorBoard (`DIR/tensorboard/evaluation`).
"""

import json
import sys
from pathlib import Path

import tensorflow as tf
from omegaconf import DictConfig, OmegaConf

from seq2seq.data import generated
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.decoding import decoding_tag
from seq2seq.evaluation.evaluator import make_evaluator
from seq2seq.serving.finished_run import load_run
from seq2seq_config import compose_config, exit_on_user_error
from seq2seq_config.command_validation import generalization_lengths, validate_evaluate
from seq2seq_config.files import atomic_write_text


def evaluate_run(cfg: DictConfig) -> dict[str, object]:
    """Evaluates the run `cfg.run_dir` as an `evaluate` config says.

    Args:
        cfg: a validated `evaluate` config.

    Returns:
        The report: decoding settings, the split's metrics and the length
        generalization split's metrics, each with exact-match by target length.
    """
    run = load_run(cfg.run_dir)
    task_cfg, seed = run.config.task, run.config.seed
    task_data, _ = load_task_data(task_cfg, seed, run.config.data_dir, run.vocab)
    evaluator = make_evaluator(run.model, cfg.eval.batch_size, cfg.decoding)
    split = task_data.split(cfg.split)
    report = {
        "run_dir": str(run.path),
        "decoding": OmegaConf.to_container(cfg.decoding),
        "split": {"name": cfg.split, "size": len(split), **evaluator(split, by_length=True)},
        # A file of pairs has no longer sequences to generate.
        "length_generalization": None,
    }
    if task_cfg.name != "tsv":
        min_len, max_len = generalization_lengths(cfg.eval, task_cfg.max_len)
        longer = generated.generate_longer(task_cfg, seed, cfg.eval.size, min_len, max_len)
        report["length_generalization"] = {
            "min_len": min_len,
            "max_len": max_len,
            "size": len(longer),
            **evaluator(longer, by_length=True),
        }
    return report


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

    Returns:
        The JSON file's path.
    """
    run_dir = Path(cfg.run_dir)
    tag = decoding_tag(cfg.decoding)
    path = run_dir / "evaluation" / f"{cfg.split}-{tag}.json"
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(_json_ready(report), indent=2) + "\n")
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / "evaluation"))
    with writer.as_default(step=epochs):
        parts = (("split", report["split"]), ("longer", report["length_generalization"]))
        for name, part in (p for p in parts if p[1] is not None):
            prefix = f"evaluate/{tag}/{part.get('name', name)}"
            for metric in ("loss", "token_accuracy", "exact_match"):
                tf.summary.scalar(f"{prefix}/{metric}", part[metric])
            for length, value in part["exact_match_by_length"].items():
                tf.summary.scalar(f"{prefix}/exact_match_by_length/{length:03d}", value)
        tf.summary.text(f"evaluate/{tag}/{cfg.split}", "<pre>" + format_report(report) + "</pre>")
    writer.close()
    return path


def main(argv: list[str] | None = None) -> int:
    """The command line: evaluates, prints the table, saves JSON and TensorBoard figures."""
    with exit_on_user_error():
        cfg = compose_config(sys.argv[1:] if argv is None else argv, config_name="evaluate")
        run_cfg = validate_evaluate(cfg)
        report = evaluate_run(cfg)
        print(format_report(report))
        path = save_report(report, cfg, epochs=run_cfg.trainer.epochs)
        print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
