"""One asyncio task per pod that serializes its syncs.

Mirrors pkg/kubelet/pod_workers.go (UpdatePod hands the newest pod to the pod's
worker; podWorkerLoop runs SyncPod, then SyncTerminatingPod once the pod is being
deleted, then SyncTerminatedPod, and the worker ends; a pod is never synced by
two workers at once; completeWork requeues the pod: after the resync interval,
--sync-frequency with jitter, when the sync left it converged, sooner when not) and
the kubelet's syncLoop wake-ups: an API update, a PLEG event (pleg.py) or a probe
result `poke`s the pod's worker at once.
Omitted: the work queue as a shared structure (each worker sleeps on its own timer),
UpdateType priorities, static pods.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from miniapi.core import v1

log = logging.getLogger("minikubelet.podworkers")

# None: the pod is finished, end its worker; a number: sync again after that many seconds
# unless something pokes the worker first (0: use the resync interval).
SyncFn = Callable[[v1.Pod], Awaitable[float | None]]
SYNC_FREQUENCY = 60.0  # the kubelet's --sync-frequency default (1m)
RESYNC_JITTER = 0.5  # workerResyncIntervalJitterFactor
BACK_OFF_PERIOD = 1.0  # a pod that has not converged yet (upstream: 10 s after an error)


class PodWorkers:
    def __init__(self, sync_pod: SyncFn, resync: float = SYNC_FREQUENCY,
                 rng: random.Random | None = None) -> None:  # fmt: skip
        self.sync_pod, self.resync = sync_pod, resync
        self.rng = rng or random.Random()
        self.pods: dict[str, v1.Pod] = {}
        self.events: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task] = {}

    def update_pod(self, pod: v1.Pod) -> None:
        uid = pod.metadata.uid
        self.pods[uid] = pod
        if uid not in self.tasks:
            self.events[uid] = asyncio.Event()
            self.tasks[uid] = asyncio.create_task(self._pod_worker_loop(uid))
        self.events[uid].set()

    def poke(self, uid: str) -> None:
        """A probe result or a PLEG event: sync this pod now."""
        event = self.events.get(uid)
        if event is not None:
            event.set()

    def known(self) -> set[str]:
        return set(self.tasks)

    def requeue_after(self, wanted: float | None) -> float:
        """completeWork's delay: a converged pod waits the jittered resync interval."""
        if wanted:
            return wanted
        return self.resync * (1 + RESYNC_JITTER * self.rng.random())

    async def _pod_worker_loop(self, uid: str) -> None:
        event = self.events[uid]
        try:
            while True:
                event.clear()
                try:
                    wanted = await self.sync_pod(self.pods[uid])
                except Exception:  # a failed sync is retried after the back-off, as upstream
                    log.exception("sync of pod %s failed", uid)
                    wanted = BACK_OFF_PERIOD
                if wanted is None:
                    return
                try:
                    await asyncio.wait_for(event.wait(), self.requeue_after(wanted))
                except TimeoutError:
                    pass
        finally:
            self.tasks.pop(uid, None)
            self.events.pop(uid, None)
            self.pods.pop(uid, None)

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
