"""`python -m seq2seq.export run_dir=DIR format=onnx`: a finished run for ONNX Runtime or
LiteRT, with a decoder that needs neither TensorFlow nor this package.

Writes, into `DIR/onnx/` (`DIR/litert/` for `format=litert`, `_int8` appended for
`quantize=int8`, or `output_dir=PATH`), the run's encoder and one decoder step as two models
converted by Keras' own exporters (token ids in, float32 states and logits out), a manifest
(`export.json`: the vocabularies, the tokenizer and normalization rules, the length bound,
the tensors' names) and `decode.py`, a single-file greedy and beam-search decoder that
prints what `predict` prints, with NumPy and the runtime alone (`seq2seq.serving.
portable_decode`). The folder is all a user ships. A subword run's SentencePiece models go
beside them; the decoder then needs the `sentencepiece` package too. docs/export.md.
"""

import sys

from seq2seq.cli.command import run_command
from seq2seq.cli.commands import EXPORT
from seq2seq.cli.imports import command_process


def main(argv: list[str] | None = None) -> int:
    """The command line: `export` after its config and run directory are checked,
    before TensorFlow loads (`seq2seq.cli.command.run_command`)."""
    return run_command(EXPORT, argv)


if __name__ == "__main__":
    command_process()
    sys.exit(main())
