"""The worker loop every controller runs: take a key, sync it, forget or retry it.

Mirrors the runWorker / processNextWorkItem pair each controller in
k8s.io/kubernetes/pkg/controller repeats (and kubernetes/sample-controller teaches):
a key is never processed by two workers at once (the queue's processing set), a
success Forgets the key so its next failure starts from the base delay, and a failure
is re-added rate limited. Expected failures (a conflict, a dropped connection) are
logged at info; anything else is a bug, logged with its traceback, and still requeued
so one bad sync cannot kill the worker (utilruntime.HandleError upstream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from miniapi import errors
from miniclient.workqueue import RateLimitingQueue

__all__ = ["EXPECTED_SYNC_ERRORS", "process_next_work_item", "run_workers"]

EXPECTED_SYNC_ERRORS: tuple[type[BaseException], ...] = (
    errors.StatusError,
    OSError,
    TimeoutError,
)

Sync = Callable[[str], Awaitable[None]]


async def process_next_work_item(
    queue: RateLimitingQueue,
    sync: Sync,
    log: logging.Logger,
    expected: tuple[type[BaseException], ...] = EXPECTED_SYNC_ERRORS,
) -> bool:
    """One key through sync; False once the queue is shut down."""
    key, shutdown = await queue.get()
    if shutdown:
        return False
    try:
        await sync(key)
        queue.forget(key)
    except expected as e:
        log.info("sync %s failed, requeued: %s", key, e)
        queue.add_rate_limited(key)
    except Exception:
        log.exception("sync %s failed unexpectedly, requeued", key)
        queue.add_rate_limited(key)
    finally:
        queue.done(key)
    return True


async def run_workers(
    queue: RateLimitingQueue,
    sync: Sync,
    workers: int,
    log: logging.Logger,
    expected: tuple[type[BaseException], ...] = EXPECTED_SYNC_ERRORS,
) -> None:
    """`workers` loops until cancelled; then the queue is shut down."""

    async def worker() -> None:
        while await process_next_work_item(queue, sync, log, expected):
            pass

    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        queue.shut_down()
        for t in tasks:
            t.cancel()
