"""Token ids to logits: embedding, encoder, bridge, decoder, attention, output projection,
one class per model family, and the fused LSTM loop (see docs/architecture.md)."""
