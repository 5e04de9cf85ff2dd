"""Fixtures for the miniraft server tests: real member processes.

Clusters run as `python -m miniraft serve` subprocesses on free loopback
ports with temp data dirs (miniraft/server/procs.py), and are always torn down.
"""

from __future__ import annotations

import pytest

from miniraft.server.procs import ProcCluster, wait_ready


@pytest.fixture(scope="module")
def cluster3():
    c = ProcCluster(3).start()
    try:
        wait_ready(c)
        yield c
    finally:
        c.stop()
