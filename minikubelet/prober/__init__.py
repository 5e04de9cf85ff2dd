"""Probes: the pure result state machine (worker.py) and the probe actions (prober.py)."""
