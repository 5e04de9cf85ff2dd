"""DELETE semantics: preconditions, graceful deletion, finalizers, propagation.

Mirrors k8s.io/apiserver/pkg/registry/generic/registry/store.go (Delete,
updateForGracefulDeletionAndFinalizers, deletionFinalizersForGarbageCollection,
DeleteCollection) and rest/delete.go (BeforeDelete: deletionTimestamp =
now + grace, deletionGracePeriodSeconds), with the pod strategy's
CheckGracefulDelete (a pod bound to a node waits its grace period; an
unscheduled or finished pod goes at once) and the namespace REST Delete (a
namespace with spec.finalizers turns Terminating first). An object really
removed goes through the resource's AfterDelete hook (a Service frees its IP).
Omitted: the orphanDependents field's deprecated defaults per group.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from miniapi import errors
from miniapi.meta.v1 import format_time
from miniapiserver.registry.store import RegistryStore
from miniapiserver.registry.storeerrors import interpret
from miniapiserver.storage import errors as serrors
from miniapiserver.storage.interfaces import Obj, Preconditions, SelectionPredicate

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
DEFAULT_POD_GRACE = 30


def _grace_period(store: RegistryStore, obj: Obj, options: dict[str, Any]) -> int:
    """CheckGracefulDelete: 0 means delete now."""
    requested = options.get("gracePeriodSeconds")
    if store.info.gvk.kind != "Pod":
        return 0
    spec, status = obj.get("spec", {}), obj.get("status", {})
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is None:
        requested = spec.get("terminationGracePeriodSeconds", DEFAULT_POD_GRACE)
    return max(int(requested), 0)


def _gc_finalizers(options: dict[str, Any], existing: list[str]) -> list[str]:
    """deletionFinalizersForGarbageCollection: the policy's finalizer, the other removed."""
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is not None:
        policy = "Orphan" if options["orphanDependents"] else "Background"
    out = [f for f in existing]
    if policy == "Orphan":
        out = [f for f in out if f != FOREGROUND] + ([ORPHAN] if ORPHAN not in out else [])
    elif policy == "Foreground":
        out = [f for f in out if f != ORPHAN] + ([FOREGROUND] if FOREGROUND not in out else [])
    elif policy == "Background":
        out = [f for f in out if f not in (ORPHAN, FOREGROUND)]
    return out


def _preconditions(options: dict[str, Any]) -> Preconditions | None:
    pre = options.get("preconditions") or {}
    if not pre:
        return None
    return Preconditions(uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))


def _check(store: RegistryStore, obj: Obj, pre: Preconditions | None, name: str) -> None:
    meta = obj.get("metadata", {})
    if pre and pre.uid is not None and pre.uid != meta.get("uid"):
        msg = (
            f"Precondition failed: UID in precondition: {pre.uid}, "
            f"UID in object meta: {meta.get('uid', '')}"
        )
        raise errors.new_conflict(store.gr, name, msg)
    if (
        pre
        and pre.resource_version is not None
        and pre.resource_version != meta.get("resourceVersion")
    ):
        msg = (
            "Precondition failed: ResourceVersion in precondition: "
            f"{pre.resource_version}, ResourceVersion in object meta: {meta.get('resourceVersion', '')}"
        )
        raise errors.new_conflict(store.gr, name, msg)


async def delete(
    store: RegistryStore, namespace: str, name: str, options: dict[str, Any], dry_run: bool = False
) -> tuple[Obj, bool]:
    """Delete one object; returns (the object, whether it is gone now)."""
    obj = await store.get(namespace, name)
    pre = _preconditions(options)
    _check(store, obj, pre, name)
    grace = _grace_period(store, obj, options)
    finalizers = _gc_finalizers(options, obj.get("metadata", {}).get("finalizers", []))
    ns_finalizers = store.info.gvk.kind == "Namespace" and obj.get("spec", {}).get("finalizers")
    if grace > 0 or finalizers or ns_finalizers:
        return await _mark_deleting(store, namespace, name, options, grace, pre, dry_run), False
    if dry_run:
        return obj, True
    try:
        out = await store.storage.delete(store.key(namespace, name), pre)
    except serrors.StorageError as e:
        raise interpret(e, store.gr, name) from None
    if store.rest is not None:
        await store.rest.after_delete(out)  # AfterDelete: the Service's IP and ports go back
    return out, True


async def _mark_deleting(
    store: RegistryStore,
    namespace: str,
    name: str,
    options: dict[str, Any],
    grace: int,
    pre: Preconditions | None,
    dry_run: bool,
) -> Obj:
    """updateForGracefulDeletionAndFinalizers: set deletionTimestamp, keep the object."""
    now = store.clock()

    def update(current: Obj | None) -> Obj:
        if current is None:
            raise errors.new_not_found(store.gr, name)
        _check(store, current, pre, name)
        new = copy.deepcopy(current)
        meta = new["metadata"]
        meta["finalizers"] = _gc_finalizers(options, meta.get("finalizers", []))
        if not meta["finalizers"]:
            del meta["finalizers"]
        old_grace = meta.get("deletionGracePeriodSeconds")
        if not meta.get("deletionTimestamp") or (old_grace is not None and grace < old_grace):
            # A second delete may only shorten the grace period.
            meta["deletionTimestamp"] = format_time(now + timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
        if store.info.gvk.kind == "Namespace":
            new.setdefault("status", {})["phase"] = "Terminating"
        return new

    if dry_run:
        return update(await store.get(namespace, name))
    try:
        out = await store.storage.guaranteed_update(store.key(namespace, name), update)
    except serrors.StorageError as e:
        raise interpret(e, store.gr, name) from None
    return out


async def delete_collection(
    store: RegistryStore,
    namespace: str,
    pred: SelectionPredicate,
    options: dict[str, Any],
    dry_run: bool = False,
) -> list[Obj]:
    """DeleteCollection: list, then delete each (already-gone objects are skipped)."""
    listed = await store.list(namespace, pred)
    out = []
    for item in listed.items:
        meta = item["metadata"]
        try:
            obj, _ = await delete(store, meta.get("namespace", ""), meta["name"], options, dry_run)
        except errors.StatusError as e:
            if e.code == 404:
                continue
            raise
        out.append(obj)
    return out
