"""Decodes text with a seq2seq export for ONNX Runtime or LiteRT: NumPy and the runtime only.

    python decode.py --model DIR/onnx WORD ...                              # greedy
    python decode.py --model DIR/onnx --decoding beam --n-best 5 WORD ...   # n-best TSV
    python decode.py --model DIR/onnx --input-file words.txt                # a line each

Written by `seq2seq-export` beside the models and the manifest it reads, it prints what
`seq2seq-predict` prints (bad input: one line, exit status 2). Needs numpy, and onnxruntime
or ai-edge-litert (and sentencepiece for subword text). Contract: docs/export.md.
"""

import argparse
import importlib
import json
import sys
import unicodedata
from functools import partial
from pathlib import Path

import numpy as np

#: The manifest's name: the export writes it here (seq2seq.base.names).
MANIFEST = None
#: What each `task.normalize` does to a source before it splits (seq2seq's text rules).
NORMALIZERS = {"none": str, "lower": str.lower, "nfc": partial(unicodedata.normalize, "NFC")}
NORMALIZERS["nfkc"] = partial(unicodedata.normalize, "NFKC")
NORMALIZERS["nfkc_lower"] = lambda text: NORMALIZERS["nfkc"](text).lower()
#: The special token ids (the manifest's `special_ids`): padding, start, end.
PAD, BOS, EOS = 0, 1, 2
#: The score of what a beam may not choose, as in seq2seq's beam search (finite sums).
BLOCKED = np.float32(-1e9)


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


def need(module: str, package: str):
    """`module`, imported, or a UsageError naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"this export needs {package}: pip install {package}") from None


class Side:
    """One side's vocabulary and tokenizer, as the manifest describes it."""

    def __init__(self, saved: dict, folder: Path):
        self.tokens, self.tokenizer = saved["tokens"], saved["tokenizer"]
        self.ids = {token: i for i, token in enumerate(self.tokens)}
        self.unknown_id, self.describe = saved["unknown_id"], saved["describe"]
        self.symbols = set(self.tokens[saved["first_symbol_id"] :])
        self.words, self.pieces = saved["input_words"], None
        if saved.get("subword_model"):  # SentencePiece pieces
            model = str(folder / saved["subword_model"])
            self.pieces = need("sentencepiece", "sentencepiece").SentencePieceProcessor(model)

    def split(self, text: str) -> list:
        if self.pieces is not None:
            return self.pieces.encode(text, out_type=str)
        return list(text) if self.tokenizer == "char" else text.split()

    def text(self, ids: np.ndarray) -> str:
        """Token ids to text: up to the first EOS, PAD and BOS skipped, then joined."""
        symbols = [self.tokens[i] for i in until_eos(ids).tolist() if i not in (PAD, BOS, EOS)]
        if self.pieces is not None:
            return self.pieces.decode([self.pieces.piece_to_id(piece) for piece in symbols])
        return ("" if self.tokenizer == "char" else " ").join(symbols)


def load(path: Path):
    """One exported model, `model(feeds) -> {name: array}`, in ONNX Runtime or LiteRT."""
    if path.suffix == ".onnx":
        runtime = need("onnxruntime", "onnxruntime")
        session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [tensor.name for tensor in session.get_outputs()]
        return lambda feeds: dict(zip(names, session.run(None, feeds)))
    interpreter = need("ai_edge_litert.interpreter", "ai-edge-litert").Interpreter
    runner = interpreter(model_path=str(path)).get_signature_runner()
    return lambda feeds: runner(**feeds)


class Decoder:
    """The export's two models and the search loops around them (greedy, beam)."""

    def __init__(self, folder: Path):
        self.manifest = m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        self.source, self.target = (Side(m[side], folder) for side in ("source", "target"))
        self.encoder, self.step = (load(folder / m[k]["file"]) for k in ("encoder", "step"))
        self.states, self.carried = m["step"]["states"], m["step"]["carried"]

    def encode(self, source_ids: np.ndarray) -> tuple:
        """The initial states and what every step reads, for a batch padded with PAD."""
        if self.manifest["encoder"]["batch"] is None:
            out = self.encoder({"source_ids": source_ids})
        else:  # a batch of one: each source alone, unpadded; memory padded with zeros
            rows = [self.encoder({"source_ids": row[None, row != PAD]}) for row in source_ids]
            out = {name: stacked([row[name] for row in rows]) for name in rows[0]}
        out["source_ids"] = source_ids
        return [out[name] for name in self.states], {name: out[name] for name in self.carried}

    def _step(self, tokens, states, carried) -> tuple:
        feeds = {"token_ids": tokens.astype(np.int32), **dict(zip(self.states, states)), **carried}
        out = self.step(feeds)
        return out["logits"], [out[f"next_{name}"] for name in self.states]

    def greedy(self, states, carried, batch: int, max_len: int) -> tuple:
        """The most likely token fed back at each step: ids (batch, 1, max_len)."""
        tokens = np.full(batch, BOS, np.int32)
        finished = np.zeros(batch, bool)
        emitted = np.full((batch, max_len), PAD, np.int32)
        for t in range(max_len):
            if finished.all():
                break
            logits, states = self._step(tokens, states, carried)
            tokens = np.where(finished, PAD, logits.argmax(axis=-1)).astype(np.int32)
            finished |= tokens == EOS
            emitted[:, t] = tokens
        return emitted[:, None, :]

    def beam(self, states, carried, batch, max_len, k, alpha, n_best) -> tuple:
        """seq2seq's beam search: ids (batch, n_best, max_len) and log-probabilities."""
        vocab = len(self.target.tokens)
        states = [np.repeat(s, k, axis=0) for s in states]
        carried = {name: np.repeat(value, k, axis=0) for name, value in carried.items()}
        scores = np.tile(np.array([0.0] + [BLOCKED] * (k - 1), np.float32), (batch, 1))
        lengths, finished = np.zeros((batch, k), np.int32), np.zeros((batch, k), bool)
        sequences = np.zeros((batch, k, 0), np.int32)
        tokens = np.full(batch * k, BOS, np.int32)
        pad_only = np.where(np.arange(vocab) == PAD, np.float32(0), BLOCKED).astype(np.float32)
        for _ in range(max_len):
            if finished.all():
                break
            logits, states = self._step(tokens, states, carried)
            shifted = logits - logits.max(axis=-1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
            log_probs = np.where(finished[:, :, None], pad_only, log_probs.reshape(batch, k, vocab))
            candidates = (scores[:, :, None] + log_probs).astype(np.float32)
            candidate_lengths = lengths + (~finished).astype(np.int32)
            ranked = candidates / penalty(candidate_lengths, alpha)[:, :, None]
            best = np.argsort(-ranked.reshape(batch, k * vocab), axis=1, kind="stable")[:, :k]
            beam, tokens = best // vocab, (best % vocab).astype(np.int32)
            scores = np.take_along_axis(candidates.reshape(batch, k * vocab), best, axis=1)
            lengths = np.take_along_axis(candidate_lengths, beam, axis=1)
            finished = np.take_along_axis(finished, beam, axis=1) | (tokens == EOS)
            kept = np.take_along_axis(sequences, beam[:, :, None], axis=1)
            sequences = np.concatenate([kept, tokens[:, :, None]], axis=2)
            rows = (beam + np.arange(batch)[:, None] * k).reshape(-1)
            states = [s[rows] for s in states]
            tokens = tokens.reshape(-1)
        best = np.argsort(-(scores / penalty(lengths, alpha)), axis=1, kind="stable")[:, :n_best]
        ids = np.take_along_axis(sequences, best[:, :, None], axis=1)
        ids = np.pad(ids, [(0, 0), (0, 0), (0, max_len - ids.shape[2])], constant_values=PAD)
        return ids, np.take_along_axis(scores, best, axis=1)

    def decode(self, sequences: list, options: dict) -> list:
        """Each source's hypotheses, best first, as (ids up to EOS, log-probability or None)."""
        outputs, size = [], options["batch_size"]
        slope, intercept = self.manifest["length_bound"]["milli"]
        if options["max_len"]:  # the same bound for every source
            slope, intercept = 0, options["max_len"] * 1000
        for batch in (sequences[start : start + size] for start in range(0, len(sequences), size)):
            width = max(map(len, batch))
            source_ids = np.array([ids + [PAD] * (width - len(ids)) for ids in batch], np.int32)
            # The length bound, EOS included: ceil((S n + I) / 1000) in integers, as seq2seq's.
            n = np.array([len(ids) for ids in batch], np.int64)
            bounds = np.maximum((slope * n + intercept + 999) // 1000, 1)
            states, carried = self.encode(source_ids)
            steps = int(bounds.max())
            if options["decoding"] == "beam":
                beam = options["beam_size"], options["length_penalty"], options["n_best"]
                ids, scores = self.beam(states, carried, len(batch), steps, *beam)
            else:
                ids, scores = self.greedy(states, carried, len(batch), steps), None
            ids = np.where(np.arange(steps) < bounds[:, None, None], ids, PAD)
            for row, hypotheses in enumerate(ids):
                row_scores = [None] * len(hypotheses) if scores is None else scores[row].tolist()
                outputs.append([(until_eos(h), s) for h, s in zip(hypotheses, row_scores)])
        return outputs


def stacked(arrays: list) -> np.ndarray:
    """Arrays of one row each, concatenated; (1, time, width) ones padded to the longest."""
    if arrays[0].ndim == 3:
        width = max(a.shape[1] for a in arrays)
        arrays = [np.pad(a, [(0, 0), (0, width - a.shape[1]), (0, 0)]) for a in arrays]
    return np.concatenate(arrays)


def until_eos(row: np.ndarray) -> np.ndarray:
    """A hypothesis up to its first EOS, included (all of it where there is none)."""
    ends = np.flatnonzero(row == EOS)
    return row[: ends[0] + 1] if len(ends) else row


def penalty(lengths, alpha: float) -> np.ndarray:
    """GNMT's length penalty ((5 + length) / 6) ** alpha, in float32."""
    f32 = np.float32
    return np.power((f32(5.0) + lengths.astype(f32)) / f32(6.0), f32(alpha))


def parse_inputs(lines: list, decoder: Decoder, args, source: str) -> tuple:
    """Input lines to token ids as predict reads them, and `{line: symbols read as <unk>}`."""
    side, normalize = decoder.source, NORMALIZERS[decoder.manifest["normalize"]]
    longest = args.max_input_len or decoder.manifest["max_input_len"]
    sequences, unknown = [], {}
    for number, line in enumerate(lines, start=1):
        symbols, where = side.split(normalize(line)), f"{source} line {number}"
        if not symbols:
            refuse(f"{where} is empty; allowed: symbols {side.words}")
        missing = [(i, s) for i, s in enumerate(symbols, 1) if s not in side.symbols]
        unk = side.unknown_id is not None
        if missing and (not unk or args.on_unknown == "error"):
            position, symbol = missing[0]
            refuse(
                f"{where}, position {position}: {symbol!r} is not a symbol of the vocabulary"
                f"{' (it would read as <unk>)' * unk}; allowed: {side.describe}"
                f"{', or --on-unknown warn to decode it anyway' * unk}"
            )
        if missing:
            unknown[number] = [symbol for _, symbol in missing]
        if len(symbols) > longest:
            refuse(
                f"{where} has {len(symbols)} symbols; the model takes at most {longest} (its "
                f"training lengths); pass --max-input-len {len(symbols)} to decode it anyway"
            )
        sequences.append([side.ids.get(symbol, side.unknown_id) for symbol in symbols])
    return sequences, unknown


def format_outputs(outputs: list, decoder: Decoder, n_best: int) -> str:
    """What predict writes: a text a line, or TSV lines: input number, rank, log-prob, text."""
    text = decoder.target.text
    if n_best == 1:
        return "".join(text(hypotheses[0][0]) + "\n" for hypotheses in outputs)
    return "".join(
        f"{number}\t{rank}\t{score:.4f}\t{text(ids)}\n"
        for number, hypotheses in enumerate(outputs, 1)
        for rank, (ids, score) in enumerate(hypotheses, 1)
    )


def warnings(outputs: list, unknown: dict, source: str) -> list:
    """Lines for stderr: inputs read with <unk> (20 at most), outputs cut short."""
    lines = [
        f"warning: {source} line {n}: {', '.join(map(repr, dict.fromkeys(symbols)))} not in "
        "the vocabulary, read as <unk>"
        for n, symbols in list(unknown.items())[:20]
    ]
    cut = [str(n) for n, found in enumerate(outputs, 1) if any(EOS not in h for h, _ in found)]
    return lines + [
        f"warning: {len(cut)} inputs reached the length bound without ending and are cut "
        f"short: {source} line {', '.join(cut[:5])}; --max-len N decodes up to N tokens"
    ] * bool(cut)


def count(text: str) -> int:  # an argparse type
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: an integer >= 1")
    return int(text)


def refuse(message: str):  # argparse's errors too: one line, not its usage text
    raise UsageError(message)


def arguments(argv) -> argparse.Namespace:
    """The command line, checked (`UsageError` for a value it does not allow)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.error, add = refuse, parser.add_argument
    add("inputs", nargs="*", metavar="TEXT", help="inputs, as the run's tokenizer reads text")
    add("--model", type=Path, default=Path(__file__).resolve().parent, help="the export's folder")
    add("--input-file", help="a UTF-8 file of inputs, one a line")
    add("--decoding", choices=("greedy", "beam"), default="greedy")
    add("--beam-size", type=count, help="beam: hypotheses kept (5)")
    add("--length-penalty", type=float, help="beam: GNMT's alpha, >= 0 (0)")
    add("--n-best", type=count, default=1, help="beam: hypotheses printed, as TSV")
    add("--max-len", type=count, help="the most tokens to emit (default: the run's bound)")
    add("--max-input-len", type=count, help="the longest input (default: the run's)")
    add("--batch-size", type=count, default=500, help="inputs decoded together, as predict's")
    add("--on-unknown", choices=("warn", "error"), default="warn")
    args = parser.parse_args(argv)
    if args.decoding == "greedy" and (args.n_best > 1 or args.beam_size or args.length_penalty):
        refuse("--n-best, --beam-size, --length-penalty: allowed with --decoding beam")
    if (args.length_penalty or 0.0) < 0:
        refuse(f"--length-penalty {args.length_penalty}: allowed: a number >= 0")
    args.beam_size, args.length_penalty = args.beam_size or 5, args.length_penalty or 0.0
    if args.n_best > args.beam_size:
        refuse(f"--n-best {args.n_best}: allowed: at most --beam-size ({args.beam_size})")
    if bool(args.inputs) == (args.input_file is not None):
        refuse("give the inputs as arguments or --input-file PATH, one of the two")
    args.lines, args.source = args.inputs, args.input_file or "input"
    if args.input_file is not None:  # read as predict reads a file: BOM dropped, CRLF as LF
        try:
            text = Path(args.input_file).read_text(encoding="utf-8-sig").split("\n")
        except (OSError, UnicodeDecodeError) as error:
            refuse(f"--input-file {args.input_file}: unreadable ({error}); allowed: UTF-8 text")
        args.lines = [line.removesuffix("\r") for line in text[: -1 if text[-1] == "" else None]]
    return args


def main(argv=None) -> int:
    try:
        args = arguments(argv)
        if not (args.model / MANIFEST).is_file():
            refuse(f"--model {args.model}: no {MANIFEST} there; allowed: an export's folder")
        decoder = Decoder(args.model)
        sequences, unknown = parse_inputs(args.lines, decoder, args, args.source)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    outputs = decoder.decode(sequences, vars(args))
    sys.stderr.write("".join(line + "\n" for line in warnings(outputs, unknown, args.source)))
    sys.stdout.write(format_outputs(outputs, decoder, args.n_best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
