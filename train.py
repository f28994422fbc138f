"""Trains a seq2seq model: `python train.py key=value ...` (see README.md).

A checkout's way to call the command an installation calls `seq2seq-train`; the
command itself is `seq2seq.cli.train`, which checks the config before TensorFlow is
imported.
"""

from seq2seq.cli.commands import train

if __name__ == "__main__":
    train()
