"""The plain PyTorch reference of the real-data benchmark: the framework's `attention` model
with a bidirectional encoder and a dense bridge, as a user would write it.

Source embedding -> bidirectional `nn.LSTM` (packed, so padding is skipped both ways) ->
each final state's two directions joined and mapped by a Linear (the dense bridge) to
start a decoder `nn.LSTM` over the target embedding -> Luong's "general" attention over
the encoder's outputs (keys = memory W, scores = query . keys, padding masked, context =
weights . memory) -> tanh(Linear([context; output])) -> Linear to the logits. Adam with
clipping by global norm, cross-entropy over the real target tokens. Same sizes and
parameter count as the framework's model (checked by the benchmark).

It runs as a script in a process of its own, on the threads it is given, on each epoch's
batches that benchmarks/real_data.py trains the framework on (written to an .npz by
benchmarks/pytorch_process.py): the first epoch warms up, each other one is timed; then
greedy decoding of the validation sources is timed. Prints its figures as JSON:

    python benchmarks/pytorch_attention.py BATCHES.npz [--units 256] [--embedding-dim 64]
        [--unpacked] [--threads 2] [--greedy-steps 20] [--repeats 3]
"""

import argparse
import statistics
import time

from pytorch_reference import (
    Reference,
    _torch,
    add_common,
    load,
    report,
    tensors,
    warmed_seconds,
)

from seq2seq.base.tokens import BOS_ID


class AttentionReference(Reference):
    """The model and its optimizer; `train_step` (masked cross-entropy, Adam, clipping) is
    `Reference`'s.

    Args:
        source_size, target_size: vocabulary sizes, special symbols included.
        units: encoder width per direction, and the decoder's width.
        embedding_dim: both embeddings' width.
        learning_rate, clipnorm: Adam's step size and the global-norm clip.
        seed: torch's seed for the initial weights.
    """

    def __init__(
        self, source_size, target_size, units=256, embedding_dim=64, learning_rate=1e-2,
        clipnorm=1.0, seed=0, packed=True,
    ):  # fmt: skip
        self.packed = packed
        torch = self.torch = _torch()
        torch.manual_seed(seed)
        nn = torch.nn
        self.source_embedding = nn.Embedding(source_size, embedding_dim)
        self.target_embedding = nn.Embedding(target_size, embedding_dim)
        self.encoder = nn.LSTM(embedding_dim, units, batch_first=True, bidirectional=True)
        self.bridge_h = nn.Linear(2 * units, units)
        self.bridge_c = nn.Linear(2 * units, units)
        self.decoder = nn.LSTM(embedding_dim, units, batch_first=True)
        self.memory_projection = nn.Linear(2 * units, units, bias=False)
        self.combine = nn.Linear(2 * units + units, units)
        self.projection = nn.Linear(units, target_size)
        self.modules = nn.ModuleList(
            [self.source_embedding, self.target_embedding, self.encoder, self.bridge_h,
             self.bridge_c, self.decoder, self.memory_projection, self.combine, self.projection]
        )  # fmt: skip
        self.optimizer = torch.optim.Adam(self.modules.parameters(), lr=learning_rate)
        self.clipnorm = clipnorm
        self.loss = nn.CrossEntropyLoss(reduction="none")

    def parameter_count(self) -> int:
        """Parameters as Keras counts them: PyTorch's LSTM keeps two bias vectors per
        direction (`bias_ih`, `bias_hh`) where Keras keeps one, the same function."""
        second_biases = sum(
            p.numel() for name, p in self.modules.named_parameters() if "bias_hh" in name
        )
        return sum(p.numel() for p in self.modules.parameters()) - second_biases

    def _encode(self, source):
        """The encoder's outputs (the memory), their keys and the decoder's initial state."""
        torch = self.torch
        pack = torch.nn.utils.rnn
        embedded = self.source_embedding(source)
        if self.packed:
            lengths = (source != 0).sum(1).clamp(min=1)
            packed = pack.pack_padded_sequence(
                embedded, lengths, batch_first=True, enforce_sorted=False
            )
            memory, (h, c) = self.encoder(packed)
            memory, _ = pack.pad_packed_sequence(
                memory, batch_first=True, total_length=source.shape[1]
            )
        else:  # the backward direction reads the padding first: faster, not the same model
            memory, (h, c) = self.encoder(embedded)
        # (2, batch, units) -> (1, batch, 2 units): forward then backward, as Keras joins them.
        h = self.bridge_h(torch.cat([h[0], h[1]], -1))[None]
        c = self.bridge_c(torch.cat([c[0], c[1]], -1))[None]
        return memory, self.memory_projection(memory), (h, c)

    def _attend(self, outputs, memory, keys, padding):
        """Luong's attentional state of the decoder's outputs, then the logits."""
        scores = (outputs @ keys.transpose(1, 2)).masked_fill(padding, float("-inf"))
        context = scores.softmax(-1) @ memory
        return self.projection(
            self.torch.tanh(self.combine(self.torch.cat([context, outputs], -1)))
        )

    def logits(self, source, decoder_input):
        memory, keys, state = self._encode(source)
        outputs, _ = self.decoder(self.target_embedding(decoder_input), state)
        return self._attend(outputs, memory, keys, (source == 0)[:, None, :])

    def greedy(self, source, max_len):
        """Batched greedy decoding of int64 sources: (batch, max_len) ids, as the framework's
        `greedy_decode` does it (attention over the encoder's outputs at every step)."""
        torch = self.torch
        with torch.no_grad():
            memory, keys, state = self._encode(source)
            padding = (source == 0)[:, None, :]
            token = torch.full((source.shape[0], 1), BOS_ID, dtype=torch.long)
            out = []
            for _ in range(max_len):
                output, state = self.decoder(self.target_embedding(token), state)
                token = self._attend(output, memory, keys, padding).argmax(-1)
                out.append(token)
            return torch.cat(out, 1).numpy()


def main():
    """The script: trains on every epoch of the file's batches, then decodes greedily."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common(parser)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--unpacked", action="store_true", help="the encoder reads the padding")
    parser.add_argument("--greedy-steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="greedy decoding's timings")
    args = parser.parse_args()
    torch = _torch()
    torch.set_num_threads(args.threads)
    data = load(args.data)
    sizes = tuple(int(n) for n in data["sizes"])
    reference = AttentionReference(
        *sizes, units=args.units, embedding_dim=args.embedding_dim, packed=not args.unpacked
    )
    parts = ("source", "decoder_input", "target", "weight")
    seconds = []
    for epoch in range(int(data["epochs"])):
        batches = [
            tensors(torch, ({"encoder_token_ids": b[0], "decoder_token_ids": b[1]}, b[2], b[3]))
            for b in (
                [data[f"e{epoch}_b{i}_{part}"] for part in parts]
                for i in range(int(data[f"e{epoch}_batches"]))
            )
        ]
        start = time.perf_counter()
        for batch in batches:
            reference.train_step(*batch)
        seconds.append(time.perf_counter() - start)
    steps = [int(data[f"e{e}_batches"]) for e in range(1, int(data["epochs"]))]
    held = torch.from_numpy(data["val_source"])
    decoding = warmed_seconds(lambda: reference.greedy(held, args.greedy_steps), args.repeats)
    figures = {
        "parameters": reference.parameter_count(),
        "packed": not args.unpacked,
        "epoch_seconds": seconds[1:],  # the first one warmed up
        "ms_per_step": 1000 * statistics.median(s / n for s, n in zip(seconds[1:], steps)),
        "greedy_sequences_per_second": len(held) / statistics.median(decoding),
    }
    report(figures, args.threads)


if __name__ == "__main__":
    main()
