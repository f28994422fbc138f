"""The plain PyTorch reference of the benchmark: the same model, optimizer and batches.

Embedding -> encoder `torch.nn.LSTM` whose final (h, c) start a decoder `torch.nn.LSTM`
-> Linear, as a user would write it in forty lines; Adam with gradient clipping by global
norm; cross-entropy over the real (unpadded) target tokens. It trains on the arrays the
framework's pipeline makes (`teacher_forcing_arrays`), batch by batch in the same order,
on as many threads as the process may use. torch is a benchmark-only extra
(`pip install -e .[bench]`, the CPU wheel).
"""

import math
import os
import time

import numpy as np

from seq2seq.data.vocabulary import BOS_ID, EOS_ID, PAD_ID


def _torch():
    import torch  # noqa: PLC0415 - a benchmark-only extra

    torch.set_num_threads(len(os.sched_getaffinity(0)))
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


def main():
    """`python benchmarks/pytorch_reference.py`: the plain PyTorch script of the default task
    (`script_run` on its data), in a process of its own, as a user runs a script; prints
    its figures as JSON."""
    import json  # noqa: PLC0415

    from seq2seq.data import pipeline  # noqa: PLC0415
    from seq2seq.data.load import load_task_data  # noqa: PLC0415
    from seq2seq_config import compose_config  # noqa: PLC0415

    cfg = compose_config([])
    data, _ = load_task_data(cfg.task, cfg.seed, cfg.data_dir)
    figures = script_run(
        pipeline.teacher_forcing_arrays(data.train),
        (data.val.source_ids, data.val.target_ids),
        (data.test.source_ids, data.test.target_ids),
        (data.vocabs.source.size, data.vocabs.target.size),
        cfg.trainer.batch_size,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
