"""Pushing pod status to the API server, only when it changed.

Mirrors pkg/kubelet/status/status_manager.go (SetPodStatus caches the status per pod
UID; syncPod patches pods/status when it differs from what was last sent, with the
UID as a precondition so a recreated pod of the same name is never patched;
TerminatePod; a deleted pod's entry is dropped). Patches are JSON merge patches.
Omitted: the versioned channel and batch resync, mirror pods, pod resize status.
"""

from __future__ import annotations

import json
import logging

from miniapi import errors, scheme
from miniapi.core import v1
from miniclient.rest import MERGE_PATCH, ResourceClient

log = logging.getLogger("minikubelet.status")


def encode_status(status: v1.PodStatus) -> dict:
    return scheme.encode(v1.Pod(status=status))["status"]


class StatusManager:
    def __init__(self, pods: ResourceClient) -> None:
        self.pods = pods
        self.sent: dict[str, str] = {}  # pod uid -> JSON last patched
        self.patches = 0

    async def set_pod_status(self, pod: v1.Pod, status: v1.PodStatus) -> bool:
        """Patch pods/status if the status differs from the last one sent; True if patched."""
        body = encode_status(status)
        text = json.dumps(body, sort_keys=True)
        uid = pod.metadata.uid
        if self.sent.get(uid) == text:
            return False
        patch = {"metadata": {"uid": uid}, "status": body}
        try:
            await self.pods.patch(pod.metadata.name, patch, MERGE_PATCH, pod.metadata.namespace,
                                  "status")  # fmt: skip
        except errors.StatusError as err:
            log.warning("status patch for %s/%s failed: %s", pod.metadata.namespace,
                        pod.metadata.name, err)  # fmt: skip
            return False
        self.sent[uid] = text
        self.patches += 1
        return True

    def remove(self, uid: str) -> None:
        self.sent.pop(uid, None)
