"""What a run shows as it trains: progress lines, and TensorBoard's scalars, text,
images and the rewind of its logs on resume."""
