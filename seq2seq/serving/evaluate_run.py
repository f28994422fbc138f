"""Measures a finished run (`seq2seq.evaluate` is the command): the split's figures, a report and its examples."""

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq.base.errors import UserError
from seq2seq.checks.command import generalization_lengths
from seq2seq.data import generated, held_out, tsv
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import make_evaluator
from seq2seq.evaluation.examples import example_rows, examples_path, write_examples
from seq2seq.evaluation.oracle import oracle_exact_match
from seq2seq.evaluation.report import format_report, save_report
from seq2seq.serving.finished_run import load_ensemble, load_run
from seq2seq.text.text_files import PairFile
from seq2seq.text.text_rules import run_normalization

log = logging.getLogger(__name__)


def _split(cfg: DictConfig, run) -> tuple:
    """The split to measure and its name: a file's pairs, the run's saved held-out pairs,
    or a generated task's split."""
    if cfg.eval.file is not None:
        file = PairFile(
            cfg.eval.file, run.vocabs.tokenizers, "error", "eval.file", cfg.eval.header,
            "eval.header", run_normalization(run.config.task),
        )  # fmt: skip
        split = tsv.load_pairs_file(file, run.vocabs)
        return f"file-{Path(cfg.eval.file).stem}", split
    if held_out.has_held_out(run.path):
        return cfg.split, held_out.load_split(run.path, cfg.split, run.vocabs)
    if run.config.task.name == "tsv":
        raise UserError(
            f"run_dir={str(run.path)!r} saved no held-out pairs (a run from before they were "
            "saved); evaluate a file of pairs with eval.file=PATH"
        )
    task_data, _ = load_task_data(run.config.task, run.config.seed, run.config.data_dir)
    return cfg.split, task_data.split(cfg.split)


def evaluate_run(cfg: DictConfig, examples: list | None = None) -> dict[str, object]:
    """Evaluates the run `cfg.run_dir` as an `evaluate` config says.

    Args:
        cfg: a validated `evaluate` config.
        examples: filled with the split's examples (`seq2seq.evaluation.examples`:
            source, reference, output, errors, exact), one per source.

    Returns:
        The report: the run (and `ensemble`, the other members, when given), decoding
        settings, the length bound, the split's metrics and the length generalization
        split's metrics (None for a file of pairs), each as the evaluator returns them
        with `by_length=True` (`Evaluator.__call__`): the metrics of
        `seq2seq.config.watch_schema.METRICS` (the table in docs/monitoring.md) and
        `truncated`, and the decoded ones for each target length.
    """
    run = load_run(cfg.run_dir)
    # An ensemble reads run_dir's split through run_dir's vocabularies, as run_dir alone does.
    model = load_ensemble(run, cfg.ensemble) if cfg.ensemble else run.model
    task_cfg, seed = run.config.task, run.config.seed
    name, split = _split(cfg, run)
    # The bound predict and the SavedModel decode to (or decoding.max_tokens): the figures are
    # those of the outputs a user gets, never of outputs decoded to the reference's length.
    bound = run.decoding_bound(cfg.decoding.max_tokens)
    evaluator = make_evaluator(model, cfg.eval.batch_size, cfg.decoding, run.vocabs.target, bound)
    report = {
        "run_dir": str(run.path),
        **({"ensemble": [str(member) for member in cfg.ensemble]} if cfg.ensemble else {}),
        "decoding": OmegaConf.to_container(cfg.decoding),
        "length_bound": {**bound.to_json(), "in_words": bound.describe()},
        "split": {"name": name, "size": len(split), **evaluator(split, by_length=True)},
        # A file of pairs has no longer sequences to generate.
        "length_generalization": None,
    }
    if examples is not None:  # before the evaluator measures another split
        examples.extend(example_rows(split, run.vocabs, evaluator))
    if cfg.decoding.n_best > 1:  # beam search's K best: is any of them a reference?
        report["split"]["oracle_exact_match"] = oracle_exact_match(
            model, split, cfg.decoding, cfg.eval.batch_size, bound, run.vocabs.target
        )
    if task_cfg.name != "tsv" and cfg.eval.file is None:
        min_len, max_len = generalization_lengths(cfg.eval, task_cfg.max_source_symbols)
        longer = generated.generate_longer(task_cfg, seed, cfg.eval.size, min_len, max_len)
        report["length_generalization"] = {
            "min_len": min_len,
            "max_len": max_len,
            "size": len(longer),
            **evaluator(longer, by_length=True),
        }
    return report


def work(cfg: DictConfig, run_cfg) -> None:
    """The command, once its config is known good (`seq2seq.cli.command`).

    Args:
        cfg: the composed, validated `evaluate` config.
        run_cfg: what `validate_evaluate` returned.
    """
    examples = []
    report = evaluate_run(cfg, examples)
    print(format_report(report))
    path = save_report(report, cfg, epochs=run_cfg.trainer.epochs)
    write_examples(examples_path(path), examples)
    print(f"\nexamples: {examples_path(path)}")
    print(f"written: {path}")
