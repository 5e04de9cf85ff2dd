"""Pushing pod status to the API server, only when it changed, off the pod worker's path.

Mirrors pkg/kubelet/status/status_manager.go: SetPodStatus caches the newest status per
pod UID and returns at once (upstream sends on podStatusChannel); a sender per pod
(upstream's syncBatch / syncPod) patches pods/status when it differs from what was last
sent, with the UID as a precondition so a recreated pod of the same name is never
patched. A status set while a patch is in flight replaces any older unsent one, so a
pod's updates are batched to its newest. TerminatePod's callers wait with `flush`.
Patches are JSON merge patches.
Omitted: the periodic full resync, mirror pods, pod resize status.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from miniapi import scheme
from miniapi.core import v1
from miniclient.rest import MERGE_PATCH, ResourceClient

log = logging.getLogger("minikubelet.status")

OnPatched = Callable[[str, v1.PodStatus], None]


def encode_status(status: v1.PodStatus) -> dict:
    return scheme.encode(v1.Pod(status=status))["status"]


class StatusManager:
    def __init__(self, pods: ResourceClient, on_patched: OnPatched | None = None) -> None:
        self.pods, self.on_patched = pods, on_patched
        self.sent: dict[str, str] = {}  # pod uid -> JSON last patched
        self.pending: dict[str, tuple[v1.Pod, v1.PodStatus, dict, str]] = {}
        self.senders: dict[str, asyncio.Task] = {}
        self.patches = 0

    def set_pod_status(self, pod: v1.Pod, status: v1.PodStatus) -> None:
        """Cache the newest status; its pod's sender patches it unless it was sent already."""
        body = encode_status(status)
        text = json.dumps(body, sort_keys=True)
        uid = pod.metadata.uid
        if uid not in self.pending and self.sent.get(uid) == text:
            return
        self.pending[uid] = (pod, status, body, text)
        if uid not in self.senders:
            self.senders[uid] = asyncio.get_running_loop().create_task(self._sender(uid))

    async def flush(self, uid: str) -> None:
        """Wait until every status set for this pod so far has been sent (or failed)."""
        sender = self.senders.get(uid)
        if sender is not None:
            await asyncio.shield(sender)

    async def _sender(self, uid: str) -> None:
        try:
            while uid in self.pending:
                pod, status, body, text = self.pending.pop(uid)
                if self.sent.get(uid) != text and await self._patch(pod, body):
                    self.sent[uid] = text
                    self.patches += 1
                    if self.on_patched is not None:
                        self.on_patched(uid, status)
        finally:
            self.senders.pop(uid, None)

    async def _patch(self, pod: v1.Pod, body: dict) -> bool:
        patch = {"metadata": {"uid": pod.metadata.uid}, "status": body}
        try:
            await self.pods.patch(pod.metadata.name, patch, MERGE_PATCH, pod.metadata.namespace,
                                  "status")  # fmt: skip
        except Exception as err:  # a Status, or the API server away for a moment
            # Not retried here: the next sync sets the status again (sent is unchanged).
            log.warning("status patch for %s/%s failed: %s", pod.metadata.namespace,
                        pod.metadata.name, err)  # fmt: skip
            return False
        return True

    def remove(self, uid: str) -> None:
        self.sent.pop(uid, None)
        self.pending.pop(uid, None)
