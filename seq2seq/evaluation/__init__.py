"""Models to figures: decoding strategies (greedy, beam search, sampling), metrics, and the
evaluator that measures a split (see docs/architecture.md)."""
