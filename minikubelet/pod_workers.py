"""One asyncio task per pod that serializes its syncs.

Mirrors pkg/kubelet/pod_workers.go (UpdatePod hands the newest pod to the pod's
worker; podWorkerLoop runs SyncPod, then SyncTerminatingPod once the pod is being
deleted, then SyncTerminatedPod, and the worker ends; a pod is never synced by
two workers at once) and the kubelet's resync: a worker syncs again after
`resync` seconds even without news, standing in for PLEG's relist.
Omitted: the work queue with back-off per pod, UpdateType priorities, static pods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from miniapi.core import v1

log = logging.getLogger("minikubelet.podworkers")

SyncFn = Callable[[v1.Pod], Awaitable[bool]]  # True: the pod is finished, end its worker


class PodWorkers:
    def __init__(self, sync_pod: SyncFn, resync: float = 1.0) -> None:
        self.sync_pod, self.resync = sync_pod, resync
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
        """A probe result or a container exit: sync this pod soon."""
        event = self.events.get(uid)
        if event is not None:
            event.set()

    def known(self) -> set[str]:
        return set(self.tasks)

    async def _pod_worker_loop(self, uid: str) -> None:
        event = self.events[uid]
        try:
            while True:
                event.clear()
                try:
                    done = await self.sync_pod(self.pods[uid])
                except Exception:  # a failed sync is retried on the next round, as upstream
                    log.exception("sync of pod %s failed", uid)
                    done = False
                if done:
                    return
                try:
                    await asyncio.wait_for(event.wait(), self.resync)
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
