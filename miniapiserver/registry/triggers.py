"""The indexed trigger a resource's watch cache dispatches by (pods: spec.nodeName).

Mirrors kubernetes/pkg/registry/core/pod/strategy.go (NodeNameTriggerFunc, and the
spec.nodeName field index that MatchPod names in IndexFields) and
pkg/registry/core/pod/storage/storage.go (TriggerFunc: spec.nodeName →
NodeNameTriggerFunc). With it, a pod event reaches the one kubelet watching its node
rather than every kubelet's watch (see cacher/indexed_watchers.py). Other resources have
no trigger upstream and none here.
"""

from __future__ import annotations

from miniapi.runtime import ResourceInfo
from miniapiserver.cacher.indexed_watchers import IndexedTrigger
from miniapiserver.storage.interfaces import Obj


def node_name_trigger_func(obj: Obj) -> str:
    """NodeNameTriggerFunc: the node a pod is bound to ("" while unscheduled)."""
    return (obj.get("spec") or {}).get("nodeName") or ""


_TRIGGERS = {("", "Pod"): IndexedTrigger("spec.nodeName", node_name_trigger_func)}


def indexed_trigger(info: ResourceInfo) -> IndexedTrigger | None:
    if getattr(info, "crd_name", ""):
        return None  # a custom resource named Pod is not the core Pod
    return _TRIGGERS.get((info.gvk.group, info.gvk.kind))


def index_fields(info: ResourceInfo) -> tuple[str, ...]:
    """The predicate's IndexFields: the fields the watch cache indexes watchers by."""
    trigger = indexed_trigger(info)
    return (trigger.index_name,) if trigger else ()
