"""Scheduler internals: the cache, the snapshot and the scheduling queue.

Mirrors pkg/scheduler/internal (cache/, queue/).
"""
