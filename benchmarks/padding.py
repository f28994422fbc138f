"""The share of padded token slots in training batches, at random and grouped by length.

    python benchmarks/padding.py [--batch-size 128]

For the shipped samples and the default reversal task: one epoch's batches planned as
`trainer.group_by_length=false` and `true` plan them, each batch padded to its longest
source and its longest target (`seq2seq.data.batching.padding_share`).
"""

import argparse
import tempfile

from seq2seq import compose_config
from seq2seq.data import batching
from seq2seq.data.load import load_task_data

SETTINGS = {
    "reverse (lengths 3..10)": [],
    "number_words.tsv (space)": ["task=tsv", "task.path=data/number_words.tsv"],
    "dates.tsv (char)": ["task=tsv", "task.path=data/dates.tsv", "task.tokenizer=char"],
    "tense_pairs.tsv (subword)": ["task=tsv", "task.path=data/tense_pairs.tsv", "task.tokenizer=subword",
                                  "task.source_vocab_size=300", "task.target_vocab_size=300"],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    print("| data | padded slots, random batches | grouped by length |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as data_dir:
        for name, overrides in SETTINGS.items():
            cfg = compose_config([*overrides, f"data_dir={data_dir}"])
            train = load_task_data(cfg.task, cfg.seed, cfg.data_dir)[0].train
            lengths = train.source_lengths + train.target_lengths
            shares = [
                batching.padding_share(
                    batching.epoch_plan(lengths, args.batch_size, 0, 0, grouped),
                    train.source_lengths,
                    train.target_lengths,
                )
                for grouped in (False, True)
            ]
            print(f"| {name} | {shares[0]:.1%} | {shares[1]:.1%} |")


if __name__ == "__main__":
    main()
