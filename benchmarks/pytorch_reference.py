"""The plain PyTorch reference of the benchmark: the same model, optimizer and batches.

Embedding -> encoder `torch.nn.LSTM` whose final (h, c) start a decoder `torch.nn.LSTM`
-> Linear, as a user would write it in forty lines; Adam with gradient clipping by global
norm; cross-entropy over the real (unpadded) target tokens. It trains on the arrays the
framework's pipeline makes (`teacher_forcing_arrays`), batch by batch in the same order.
torch is a benchmark-only extra (`pip install -e .[bench]`, the CPU wheel).

It runs as a script in a process of its own, on the threads it is given, reading the
framework's arrays from the .npz that benchmarks/pytorch_process.py writes; neither
TensorFlow nor the framework's TensorFlow half loads here (its JSON says so):

    python benchmarks/pytorch_reference.py script DATA.npz [--threads 2]      # to 99%, as a user times it
    python benchmarks/pytorch_reference.py throughput DATA.npz [--steps 96] [--repeats 5]
    python benchmarks/pytorch_reference.py time-to-99 DATA.npz                 # the clock stopped at checks
    python benchmarks/pytorch_reference.py greedy DATA.npz [--steps 11] [--repeats 5]   # decoding
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

from seq2seq.base.tokens import BOS_ID, EOS_ID, PAD_ID


def _torch():
    import torch  # noqa: PLC0415 - a benchmark-only extra

    return torch


class Reference:
    """The model and its optimizer.

    Args:
        source_size, target_size: vocabulary sizes, special symbols included.
        units, embedding_dim: LSTM width and embedding width.
        learning_rate, clipnorm: Adam's step size and the global-norm clip.
        seed: torch's seed for the initial weights.
    """

    def __init__(
        self,
        source_size,
        target_size,
        units=128,
        embedding_dim=64,
        learning_rate=1e-2,
        clipnorm=1.0,
        seed=0,
    ):
        torch = self.torch = _torch()
        torch.manual_seed(seed)
        nn = torch.nn
        self.source_embedding = nn.Embedding(source_size, embedding_dim)
        self.target_embedding = nn.Embedding(target_size, embedding_dim)
        self.encoder = nn.LSTM(embedding_dim, units, batch_first=True)
        self.decoder = nn.LSTM(embedding_dim, units, batch_first=True)
        self.projection = nn.Linear(units, target_size)
        self.modules = nn.ModuleList(
            [
                self.source_embedding,
                self.target_embedding,
                self.encoder,
                self.decoder,
                self.projection,
            ]
        )
        self.optimizer = torch.optim.Adam(self.modules.parameters(), lr=learning_rate)
        self.clipnorm = clipnorm
        self.loss = nn.CrossEntropyLoss(reduction="none")

    def logits(self, source, decoder_input):
        _, state = self.encoder(self.source_embedding(source))
        outputs, _ = self.decoder(self.target_embedding(decoder_input), state)
        return self.projection(outputs)

    def train_step(self, source, decoder_input, target, weight):
        """One optimizer step on a batch of int64 / float32 tensors; returns the loss."""
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.logits(source, decoder_input)
        per_token = self.loss(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        weight = weight.reshape(-1)
        loss = (per_token * weight).sum() / weight.sum()
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.modules.parameters(), self.clipnorm)
        self.optimizer.step()
        return loss

    def greedy(self, source, max_len):
        """Batched greedy decoding of int64 sources: (batch, max_len) ids."""
        torch = self.torch
        with torch.no_grad():
            _, state = self.encoder(self.source_embedding(source))
            token = torch.full((source.shape[0], 1), BOS_ID, dtype=torch.long)
            out = []
            for _ in range(max_len):
                output, state = self.decoder(self.target_embedding(token), state)
                token = self.projection(output).argmax(-1)
                out.append(token)
            return torch.cat(out, 1).numpy()


def tensors(torch, arrays):
    """The framework's teacher-forcing arrays as torch tensors."""
    x, y, weight = arrays
    return (
        torch.from_numpy(np.asarray(x["encoder_token_ids"], np.int64)),
        torch.from_numpy(np.asarray(x["decoder_token_ids"], np.int64)),
        torch.from_numpy(np.asarray(y, np.int64)),
        torch.from_numpy(np.asarray(weight, np.float32)),
    )


def exact_match(reference, source, target):
    """Greedy exact-match of int64 sources against the target ids (without EOS)."""
    decoded = reference.greedy(source, target.shape[1] + 1)
    hits = 0
    for row, want in zip(decoded, target):
        want = [t for t in want.tolist() if t != PAD_ID]
        got = row.tolist()
        got = got[: got.index(EOS_ID)] if EOS_ID in got else None
        hits += got == want
    return hits / len(target)


def runner(arrays, sizes, steps, batch):
    """`run() -> seconds` for one epoch of `steps` batches, as the throughput benchmark
    calls the framework's and bare Keras' runners."""
    reference = Reference(*sizes)
    source, decoder_input, target, weight = tensors(reference.torch, arrays)

    def run():
        start = time.perf_counter()
        for step in range(steps):
            rows = slice(step * batch, (step + 1) * batch)
            reference.train_step(source[rows], decoder_input[rows], target[rows], weight[rows])
        return time.perf_counter() - start

    return run


def time_to_exact_match(
    train_arrays, val_source, val_target, sizes, batch, target=0.99, every=16, max_epochs=20, seed=0
):
    """Training time and steps until greedy exact-match on the held-out split >= target,
    checked every `every` steps off the clock; batches shuffled each epoch.

    Returns:
        A dict: `seconds`, `steps` (None if not reached in `max_epochs`), `curve`.
    """
    reference = Reference(*sizes, seed=seed)
    torch = reference.torch
    source, decoder_input, target_ids, weight = tensors(torch, train_arrays)
    held_out = torch.from_numpy(np.asarray(val_source, np.int64))
    n = source.shape[0]
    per_epoch = math.ceil(n / batch)
    rng = np.random.default_rng(seed)
    seconds, step, curve = 0.0, 0, []
    for _ in range(max_epochs):
        order = torch.from_numpy(rng.permutation(n))
        for b in range(per_epoch):
            rows = order[b * batch : (b + 1) * batch]
            start = time.perf_counter()
            reference.train_step(source[rows], decoder_input[rows], target_ids[rows], weight[rows])
            seconds += time.perf_counter() - start
            step += 1
            if step % every == 0:
                match = exact_match(reference, held_out, val_target)
                curve.append((step, round(seconds, 2), match))
                if match >= target:
                    return {"seconds": round(seconds, 2), "steps": step, "curve": curve}
    return {"seconds": None, "steps": None, "curve": curve}


def script_run(
    train_arrays, val, test, sizes, batch, target=0.99, every=100, max_epochs=20, seed=0
):
    """The plain PyTorch script of the default task, as a user would time it: train on the
    training split (shuffled each pass), check greedy exact-match on the validation split
    every `every` steps, the clock running (the script's user waits for its checks too),
    and stop at `target`; then measure the test split.

    Args:
        train_arrays: the training split's teacher-forcing arrays.
        val, test: `(source_ids, target_ids)` of the validation and test splits.
        sizes: source and target vocabulary sizes.
        batch: sequences per batch.

    Returns:
        A dict: `seconds` (training and checks), `steps`, `validation_exact_match` at the
        stop, `test_exact_match`; `seconds` and `steps` None if `target` was not reached.
    """
    reference = Reference(*sizes, seed=seed)
    torch = reference.torch
    source, decoder_input, target_ids, weight = tensors(torch, train_arrays)
    held_out = [(torch.from_numpy(np.asarray(s, np.int64)), t) for s, t in (val, test)]
    n = source.shape[0]
    per_epoch = math.ceil(n / batch)
    rng = np.random.default_rng(seed)
    step, match, start = 0, 0.0, time.perf_counter()
    for _ in range(max_epochs):
        order = torch.from_numpy(rng.permutation(n))
        for b in range(per_epoch):
            rows = order[b * batch : (b + 1) * batch]
            reference.train_step(source[rows], decoder_input[rows], target_ids[rows], weight[rows])
            step += 1
            if step % every == 0:
                match = exact_match(reference, *held_out[0])
                if match >= target:
                    seconds = time.perf_counter() - start
                    return {
                        "seconds": round(seconds, 2),
                        "steps": step,
                        "validation_exact_match": match,
                        "test_exact_match": exact_match(reference, *held_out[1]),
                    }
    return {"seconds": None, "steps": None, "validation_exact_match": match,
            "test_exact_match": exact_match(reference, *held_out[1])}  # fmt: skip


def greedy_rate(data: dict, args) -> dict:
    """Sequences per second of batched greedy decoding of `data["source"]` by an untrained
    model of the given sizes (every output runs `args.steps` steps): the median of
    `args.repeats` after a warm-up."""
    reference = Reference(
        *(int(n) for n in data["sizes"]), units=args.units, embedding_dim=args.embedding_dim
    )
    source = reference.torch.from_numpy(data["source"].astype(np.int64))
    seconds = warmed_seconds(lambda: reference.greedy(source, args.steps), args.repeats)
    return {"sequences_per_second": len(source) / statistics.median(seconds)}


def warmed_seconds(function, repeats: int) -> list:
    """Seconds of each of `repeats` calls of `function`, after one untimed warm-up call."""
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return seconds


def load(path) -> dict:
    """The arrays benchmarks/pytorch_process.py wrote, as a dict of NumPy arrays."""
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def add_common(parser) -> None:
    """The arguments every script of a PyTorch reference takes."""
    parser.add_argument("data", help="the .npz of arrays the framework's side wrote")
    parser.add_argument(
        "--threads", type=int, default=len(os.sched_getaffinity(0)),
        help="torch.set_num_threads: the framework's threads (default: every core)",
    )  # fmt: skip


def report(figures: dict, threads: int) -> None:
    """Prints the figures as JSON on one line, with the threads and whether TensorFlow
    was loaded in this process (it must not be: the reference runs alone)."""
    figures = {**figures, "threads": threads, "tensorflow_loaded": "tensorflow" in sys.modules}
    print(json.dumps(figures))


def main():
    """`python benchmarks/pytorch_reference.py MODE DATA.npz`: the default task's plain
    script (`script`: to 99% validation exact-match as a user times it), its training
    throughput (`throughput`) or its time to 99% with the clock stopped at the checks
    (`time-to-99`), on the framework's arrays; prints its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    add_common(modes.add_parser("script", help="to 99%% validation exact-match, as a user"))
    throughput = modes.add_parser("throughput", help="sequences/s over epochs of --steps")
    add_common(throughput)
    throughput.add_argument("--steps", type=int, default=96)
    throughput.add_argument("--batch", type=int, default=128)
    throughput.add_argument("--repeats", type=int, default=5)
    reached = modes.add_parser("time-to-99", help="training time to 99%% held-out exact-match")
    add_common(reached)
    reached.add_argument("--batch", type=int, default=128)
    greedy = modes.add_parser("greedy", help="batched greedy decoding of `source`, sequences/s")
    add_common(greedy)
    greedy.add_argument("--steps", type=int, default=11)
    greedy.add_argument("--repeats", type=int, default=5)
    greedy.add_argument("--units", type=int, default=128)
    greedy.add_argument("--embedding-dim", type=int, default=64)
    args = parser.parse_args()
    torch = _torch()
    torch.set_num_threads(args.threads)
    data = load(args.data)
    if args.mode == "greedy":
        report(greedy_rate(data, args), args.threads)
        return
    train = (
        {"encoder_token_ids": data["source"], "decoder_token_ids": data["decoder_input"]},
        data["target"],
        data["weight"],
    )
    sizes = tuple(int(n) for n in data["sizes"])
    if args.mode == "script":
        batch = int(data["batch"])
        val = (data["val_source"], data["val_target"])
        figures = script_run(train, val, (data["test_source"], data["test_target"]), sizes, batch)
    elif args.mode == "throughput":
        run = runner(train, sizes, args.steps, args.batch)
        run()  # warm-up
        seconds = [run() for _ in range(args.repeats)]
        figures = {
            "epoch_seconds": seconds,
            "sequences_per_second": args.steps * args.batch / statistics.median(seconds),
        }
    else:
        figures = time_to_exact_match(
            train, data["val_source"], data["val_target"], sizes, args.batch
        )
    report(figures, args.threads)


if __name__ == "__main__":
    main()
