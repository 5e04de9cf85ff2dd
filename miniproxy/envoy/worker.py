"""Worker threads: each runs its own event loop and owns the connections it accepts.

Mirrors source/server/worker_impl.cc (WorkerImpl: one dispatcher thread per worker;
addListener/removeListener are posted to it) and the thread-local model of
source/common/thread_local/thread_local_impl.cc: the main thread builds configuration and
posts it to workers, which only read it. Each worker binds its own listen socket with
SO_REUSEPORT (Envoy's default on Linux), so the kernel spreads connections across workers.
Omitted: watchdogs, per-worker overload actions, connection balancing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading


class Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=f"worker_{index}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro) -> concurrent.futures.Future:
        """Run a coroutine on this worker's loop (Dispatcher::post + a completion)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def post(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def post_to(loop: asyncio.AbstractEventLoop, fn, *args, current=None) -> None:
    """Call fn on loop's thread: directly when we are already there. The request path passes
    its own loop as `current` (asking asyncio for it costs a getpid() system call)."""
    if current is None:
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
    if current is loop:
        fn(*args)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(fn, *args)
