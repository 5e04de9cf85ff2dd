"""The supervisor's children: a dead one is started again after a doubling back-off."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from minicluster.children import BACKOFF_MAX, BACKOFF_START, Children


def test_dead_child_restarts_after_its_backoff_which_doubles(tmp_path: Path) -> None:
    started: list[tuple[str, int]] = []
    kids = Children(tmp_path / "logs", lambda name, pid: started.append((name, pid)))
    kids.spawn("quick", [sys.executable, "-c", "print('hello')"])
    kids.procs["quick"].proc.wait()
    assert kids.dead() == ["quick"]
    assert kids.restart_dead(now=100.0) == []  # noticed at 100: wait BACKOFF_START
    assert kids.restart_dead(now=100.0 + BACKOFF_START) == [("quick", 0)]
    assert len(started) == 2 and started[0][1] != started[1][1]
    kids.procs["quick"].proc.wait()
    assert kids.restart_dead(now=200.0) == []
    assert kids.restart_dead(now=200.0 + BACKOFF_START) == []  # now 2 x BACKOFF_START
    assert kids.restart_dead(now=200.0 + 2 * BACKOFF_START) == [("quick", 0)]
    assert kids.procs["quick"].restarts == 2
    assert (tmp_path / "logs" / "quick.log").read_text().count("hello") >= 2
    kids.procs["quick"].backoff = BACKOFF_MAX
    kids.procs["quick"].proc.wait()
    kids.restart_dead(now=300.0)
    kids.restart_dead(now=300.0 + BACKOFF_MAX)
    assert kids.procs["quick"].backoff == BACKOFF_MAX


def test_stop_ends_children_that_ignore_sigterm(tmp_path: Path) -> None:
    kids = Children(tmp_path, lambda name, pid: None)
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(60)"
    )
    proc = kids.spawn("stubborn", [sys.executable, "-c", code])
    while not (tmp_path / "stubborn.log").read_text():  # SIGTERM is ignored from now on
        time.sleep(0.05)
    asyncio.run(kids.stop(grace=0.5))
    assert proc.poll() is not None and kids.dead() == ["stubborn"]
