"""Token ids out of a model: the strategies (greedy, beam search, sampling) and the
loop they share, the rules on tokens (minimum length, repeated n-grams), the length bound,
ensembles, and whole sequences from sources."""
