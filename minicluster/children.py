"""The supervisor's child processes: started, logged, restarted when they die, stopped.

Plays the part systemd plays for kubeadm's kubelet and the kubelet for static pods
(restartPolicy: Always with a doubling back-off, pkg/kubelet/kuberuntime's
CrashLoopBackOff from 10 s to 5 min, here from 1 s to 30 s so a toy cluster heals fast):
a killed kube-apiserver comes back with the same flags, and its clients reconnect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])
BACKOFF_START, BACKOFF_MAX = 1.0, 30.0


@dataclass
class Child:
    argv: list[str]
    proc: subprocess.Popen
    restarts: int = 0
    backoff: float = BACKOFF_START
    died_at: float = 0.0  # monotonic time the exit was noticed, 0 while running


class Children:
    """Child processes with their logs in <dir>/logs/<name>.log, stopped newest first."""

    def __init__(self, log_dir: Path, on_start: Callable[[str, int], None]) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, Child] = {}
        self.on_start = on_start

    def _popen(self, name: str, argv: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": REPO}
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)  # fmt: skip
        self.on_start(name, proc.pid)
        return proc

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        proc = self._popen(name, argv)
        self.procs[name] = Child(argv, proc)
        return proc

    def dead(self) -> list[str]:
        return [n for n, c in self.procs.items() if c.proc.poll() is not None]

    def check(self) -> None:
        """Raise if a child has exited, with the end of its log: why it did."""
        for name in self.dead():
            lines = (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
            tail = "\n".join(lines[-12:])
            raise RuntimeError(f"{name} exited:\n{tail}")

    def restart_dead(self, now: float | None = None) -> list[tuple[str, int]]:
        """Start again each child whose back-off has passed; returns (name, exit code)."""
        now = time.monotonic() if now is None else now
        out = []
        for name in self.dead():
            c = self.procs[name]
            if not c.died_at:
                c.died_at = now
            if now - c.died_at < c.backoff:
                continue
            out.append((name, c.proc.returncode))
            c.proc = self._popen(name, c.argv)
            c.restarts, c.died_at = c.restarts + 1, 0.0
            c.backoff = min(c.backoff * 2, BACKOFF_MAX)
        return out

    async def stop(self, grace: float = 5.0) -> None:
        children = list(self.procs.values())
        for c in reversed(children):
            if c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while any(c.proc.poll() is None for c in children) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        for c in children:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()
