"""The run directory: its file names (`names.py`), its checks and lock, the atomic writer
for every file that must survive a kill, and sweeps."""
