"""Adoption and release of pods by their controller's selector.

Mirrors k8s.io/kubernetes/pkg/controller/controller_ref_manager.go
(PodControllerRefManager.ClaimPods, AdoptPod, ReleasePod, RecheckDeletionTimestamp).
A pod owned by this controller but no longer matching is released; an orphan
that matches is adopted, after re-reading the owner from the API server so a
controller being deleted adopts nothing. Pods owned by someone else are left alone.
Both writes are JSON merge patches carrying the pod's resourceVersion, so a
pod changed meanwhile makes the patch fail with Conflict instead of clobbering.
Any controlled kind works (the Deployment controller claims ReplicaSets with it),
as upstream's BaseControllerRefManager does.
Omitted: the strategic-merge form of the patches (same effect here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from miniapi import errors, labels
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.rest import ResourceClient
from minicontroller.controller_utils import get_controller_of

__all__ = ["claim_pods", "owner_reference"]


def owner_reference(owner: Any, api_version: str, kind: str) -> metav1.OwnerReference:
    return metav1.OwnerReference(
        api_version=api_version,
        kind=kind,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )


def _refs_json(refs: list[metav1.OwnerReference]) -> list[dict[str, Any]]:
    out = []
    for r in refs:
        d = {"apiVersion": r.api_version, "kind": r.kind, "name": r.name, "uid": r.uid}
        if r.controller is not None:
            d["controller"] = r.controller
        if r.block_owner_deletion is not None:
            d["blockOwnerDeletion"] = r.block_owner_deletion
        out.append(d)
    return out


async def _patch_refs(pods: ResourceClient, pod: corev1.Pod, refs: list) -> corev1.Pod:
    body = {
        "metadata": {
            "ownerReferences": _refs_json(refs),
            "resourceVersion": pod.metadata.resource_version,
        }
    }
    return await pods.patch(pod.metadata.name, body, namespace=pod.metadata.namespace)


async def claim_pods(
    pods_client: ResourceClient,
    owner: Any,
    owner_ref: metav1.OwnerReference,
    selector: labels.Selector,
    pods: list[corev1.Pod],
    can_adopt: Callable[[], Awaitable[None]],
) -> list[corev1.Pod]:
    """The pods owner should manage, after adopting matching orphans and releasing strays."""
    claimed: list[corev1.Pod] = []
    adopt_checked = False
    owner_deleting = owner.metadata.deletion_timestamp is not None
    for pod in pods:
        ref = get_controller_of(pod)
        matches = selector.matches(pod.metadata.labels)
        if ref is not None:
            if ref.uid != owner.metadata.uid:
                continue
            if matches or owner_deleting:
                claimed.append(pod)
                continue
            rest = [r for r in pod.metadata.owner_references if r.uid != owner.metadata.uid]
            await _ignore_gone(_patch_refs(pods_client, pod, rest))
            continue
        if owner_deleting or not matches or pod.metadata.deletion_timestamp is not None:
            continue
        if not adopt_checked:
            await can_adopt()
            adopt_checked = True
        adopted = await _ignore_gone(
            _patch_refs(pods_client, pod, [*pod.metadata.owner_references, owner_ref])
        )
        if adopted is not None:
            claimed.append(adopted)
    return claimed


async def _ignore_gone(patch: Awaitable[corev1.Pod]) -> corev1.Pod | None:
    # A pod that is gone needs neither adopting nor releasing.
    try:
        return await patch
    except errors.StatusError as e:
        if errors.is_not_found(e):
            return None
        raise
