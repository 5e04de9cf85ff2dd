"""Worker processes as the main process sees them: start, post a snapshot, ask for stats, stop.

Mirrors source/server/worker_impl.cc (WorkerImpl: start, addListener, stop; a worker that
dies takes the server down) and the main-thread half of the thread-local model of
source/common/thread_local/thread_local_impl.cc: the main process builds configuration and
posts it to every worker, which only reads it. Envoy's workers are threads; ours are
processes (`python -m miniproxy.envoy.worker_main`), each with its own event loop, its own
SO_REUSEPORT listen socket per listener and its own connection pools, so they run on separate
cores. The socket pair between them carries worker_channel.py's messages.
Omitted: watchdogs, per-worker overload actions, connection balancing, restarting a worker.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys

from miniproxy.envoy.worker_channel import (
    Applied,
    Channel,
    ListenSocket,
    OutlierResults,
    SharedMemory,
    StatsReply,
    StatsRequest,
)

log = logging.getLogger("miniproxy.envoy.worker")


class Worker:
    """WorkerImpl seen from main: one child process and the channel to it."""

    def __init__(self, index: int, log_level: str, seed: int | None, on_outlier, on_exit) -> None:
        self.index = index
        self.log_level = log_level
        self.seed = seed
        self.on_outlier = on_outlier  # fn(OutlierResults)
        self.on_exit = on_exit  # fn(worker) when the process goes away unasked
        self.proc: subprocess.Popen | None = None
        self.channel: Channel | None = None
        self.applied_version = 0
        self.sent_sockets: set[str] = set()
        self.stats_waiters: dict[int, asyncio.Future] = {}
        self.seq = 0
        self.stopping = False

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        args = [sys.executable, "-m", "miniproxy.envoy.worker_main", "--channel-fd",
                str(theirs.fileno()), "--index", str(self.index), "-l", self.log_level]  # fmt: skip
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        self.proc = subprocess.Popen(args, pass_fds=[theirs.fileno()])
        theirs.close()
        self.channel = Channel(ours)
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        msgs = self.channel.read()
        if msgs is None:
            asyncio.get_running_loop().remove_reader(self.channel.sock.fileno())
            if not self.stopping:
                log.critical("worker_%d exited (code %s)", self.index, self.proc.poll())
                self.on_exit(self)
            return
        for m in msgs:
            if isinstance(m, OutlierResults):
                self.on_outlier(m)
            elif isinstance(m, StatsReply):
                fut = self.stats_waiters.pop(m.seq, None)
                if fut is not None and not fut.done():
                    fut.set_result(m)
            elif isinstance(m, Applied):
                self.applied_version = m.version

    def post_socket(self, key: str, sock: socket.socket) -> None:
        """addListener: hand the worker its own listen socket for a listener."""
        self.channel.send(ListenSocket(key), [sock.fileno()])
        self.sent_sockets.add(key)

    def post_segment(self, segment) -> None:
        """Hand the worker the server's shared-memory segment (shared_memory.py)."""
        self.channel.send(SharedMemory(segment.workers, segment.capacity), [segment.fd])

    def post(self, frame_msg) -> None:
        self.channel.send(frame_msg)

    async def stats(self, timeout: float = 5.0) -> StatsReply | None:
        """Ask for the worker's stats (None if it does not answer in time)."""
        self.seq += 1
        fut = self.stats_waiters[self.seq] = asyncio.get_running_loop().create_future()
        try:
            self.channel.send(StatsRequest(self.seq))
            return await asyncio.wait_for(fut, timeout)
        except (TimeoutError, OSError):
            self.stats_waiters.pop(self.seq, None)
            return None

    def stop(self) -> None:
        """Close the channel: the worker stops accepting, closes its sockets and exits."""
        self.stopping = True
        if self.channel is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.channel.sock.fileno())
            except RuntimeError:
                pass
            self.channel.close()
            self.channel = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
