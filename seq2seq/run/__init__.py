"""The run directory: its checks and lock, the listing of many runs, and sweeps."""
