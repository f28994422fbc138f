"""`python -m seq2seq.evaluate run_dir=DIR [key=value ...]`: measure a finished run.

Reports, for one split (`split=val|test`, default test): loss, token accuracy,
exact-match, error rate, BLEU, chrF and the outputs cut short by the length bound, also
for each target length; and length generalization on a split generated with lengths
beyond the training range (`eval.min_len`, `eval.max_len`, by default the run's
task.max_len + 1 .. + 5). Decodes greedily unless `decoding=beam` or `decoding=sample`
(and their keys) say otherwise, each source up to the run's length bound
(`decoding.max_len=N`: N tokens), as `predict` does; `decoding=beam decoding.n_best=K`
adds `oracle_exact_match`, the share of sources where any of the K best hypotheses is
one of the references (`seq2seq.evaluation.oracle`).

For a run on a file of pairs, the split is the one the run held out and saved
(`held_out/`), whatever became of the file since; `eval.file=PATH` evaluates another
file's pairs instead, explicitly.

`ensemble=[DIR2,DIR3]` measures run_dir's model and those runs' decoding together, their
log-probabilities averaged at each step (`seq2seq.evaluation.ensemble`), on run_dir's
split, to run_dir's length bound; the report names the members and has a file of its own.

Prints a table, writes `DIR/evaluation/<what was measured>.json` (see
`seq2seq.evaluation.report`) and beside it `<what was measured>.examples.tsv`, each
example of the split with its output and errors (`seq2seq.evaluation.examples`), and logs
the figures to the run's TensorBoard (`DIR/tensorboard/evaluation`).
"""

import logging
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seq2seq.data import generated, held_out, tsv
from seq2seq.data.load import load_task_data
from seq2seq.evaluation.evaluator import make_evaluator
from seq2seq.evaluation.examples import example_rows, examples_path, write_examples
from seq2seq.evaluation.oracle import oracle_exact_match
from seq2seq.evaluation.report import format_report, save_report
from seq2seq.serving.finished_run import load_ensemble, load_run
from seq2seq_config import UserError, compose_config, exit_on_user_error
from seq2seq_config.cli.runner import stop_on_sigterm
from seq2seq_config.config.command_validation import generalization_lengths, validate_evaluate
from seq2seq_config.task.text_rules import run_normalization
from seq2seq_config.version import exit_if_version

log = logging.getLogger(__name__)


def _split(cfg: DictConfig, run) -> tuple:
    """The split to measure and its name: a file's pairs, the run's saved held-out pairs,
    or a generated task's split."""
    if cfg.eval.file is not None:
        split = tsv.load_pairs_file(
            cfg.eval.file, run.vocabs, "error", key="eval.file", header=cfg.eval.header,
            normalize=run_normalization(run.config.task),
        )  # fmt: skip
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
        with `by_length=True` (`Evaluator.__call__`): loss, token_accuracy, exact_match,
        truncated, token_error_rate, bleu and chrf, and the decoded ones for each target
        length.
    """
    run = load_run(cfg.run_dir)
    # An ensemble reads run_dir's split through run_dir's vocabularies, as run_dir alone does.
    model = load_ensemble(run, cfg.ensemble) if cfg.ensemble else run.model
    task_cfg, seed = run.config.task, run.config.seed
    name, split = _split(cfg, run)
    # The bound predict and the SavedModel decode to (or decoding.max_len): the figures are
    # those of the outputs a user gets, never of outputs decoded to the reference's length.
    bound = run.decoding_bound(cfg.decoding.max_len)
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
        min_len, max_len = generalization_lengths(cfg.eval, task_cfg.max_len)
        longer = generated.generate_longer(task_cfg, seed, cfg.eval.size, min_len, max_len)
        report["length_generalization"] = {
            "min_len": min_len,
            "max_len": max_len,
            "size": len(longer),
            **evaluator(longer, by_length=True),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    """The command line: evaluates, prints the table, saves JSON and TensorBoard figures."""
    argv = sys.argv[1:] if argv is None else argv
    exit_if_version(argv)
    stop_on_sigterm()
    with exit_on_user_error():
        cfg = compose_config(argv, config_name="evaluate")
        run_cfg = validate_evaluate(cfg)
        examples = []
        report = evaluate_run(cfg, examples)
        print(format_report(report))
        path = save_report(report, cfg, epochs=run_cfg.trainer.epochs)
        write_examples(examples_path(path), examples)
        print(f"\nexamples: {examples_path(path)}")
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
