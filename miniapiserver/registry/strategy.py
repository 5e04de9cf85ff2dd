"""Per-kind create/update rules: what the API server sets, resets and bumps.

Mirrors the strategies of kubernetes/pkg/registry/<group>/<resource>/strategy.go
(PrepareForCreate, PrepareForUpdate, the status strategies' reset of spec,
AllowCreateOnUpdate, generation bumps) and rest.BeforeCreate/BeforeUpdate in
k8s.io/apiserver/pkg/registry/rest (create.go, update.go: namespace checks,
generateName, uid, creationTimestamp). Objects are JSON-shaped dicts; the
typed round trip (defaulting, validation) happens in registry/store.py.
Omitted: managedFields, per-field feature gates.
"""

from __future__ import annotations

import copy
import random
import uuid
from datetime import datetime

from miniapi import errors
from miniapi.meta.v1 import format_time
from miniapi.runtime import ResourceInfo
from miniapiserver.storage.interfaces import Obj

# Kinds whose spec changes bump metadata.generation (they report observedGeneration).
GENERATION_KINDS = {
    "Deployment",
    "ReplicaSet",
    "CustomResourceDefinition",
    "StatefulSet",
    "DaemonSet",
}
# Kinds an update may create (AllowCreateOnUpdate true upstream).
CREATE_ON_UPDATE_KINDS = {"Endpoints", "Lease", "Event", "EndpointSlice"}
# Kinds whose status a create keeps (nodes register with their status).
KEEP_STATUS_ON_CREATE = {"Node"}
# Kinds whose DELETE answers with the deleted object rather than a Status.
RETURN_DELETED_OBJECT = {"Pod", "Service", "Namespace", "Node"}

# The alphabet and length of SimpleNameGenerator (apiserver/pkg/storage/names).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
RANDOM_LENGTH = 5
MAX_GENERATED_NAME_LENGTH = 63 - RANDOM_LENGTH


def generate_name(base: str, rng: random.Random) -> str:
    if len(base) > MAX_GENERATED_NAME_LENGTH:
        base = base[:MAX_GENERATED_NAME_LENGTH]
    return base + "".join(rng.choice(NAME_ALPHABET) for _ in range(RANDOM_LENGTH))


def has_status(info: ResourceInfo) -> bool:
    return "status" in info.subresources


def before_create(
    info: ResourceInfo, obj: Obj, namespace: str, now: datetime, rng: random.Random
) -> None:
    """rest.BeforeCreate + PrepareForCreate: fill system fields on a new object."""
    meta = obj.setdefault("metadata", {})
    if info.namespaced:
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise errors.new_bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if namespace:
            meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(meta["generateName"], rng)
    meta["uid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    meta["creationTimestamp"] = format_time(now)
    for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(k, None)
    kind = info.gvk.kind
    if kind in GENERATION_KINDS:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    if has_status(info) and kind not in KEEP_STATUS_ON_CREATE:
        obj.pop("status", None)
    _prepare_kind_for_create(kind, obj)


def _prepare_kind_for_create(kind: str, obj: Obj) -> None:
    if kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec", {}))}
    elif kind == "Namespace":
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]


def qos_class(spec: dict) -> str:
    """GetPodQOS, reduced: Guaranteed when every container's limits equal its requests."""
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    any_set, all_guaranteed = False, bool(containers)
    for c in containers:
        res = c.get("resources", {})
        limits, requests = res.get("limits", {}), res.get("requests", {})
        any_set = any_set or bool(limits) or bool(requests)
        if not all(k in limits for k in ("cpu", "memory")) or any(
            requests.get(k, limits[k]) != limits[k] for k in ("cpu", "memory")
        ):
            all_guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if all_guaranteed else "Burstable"


def before_update(info: ResourceInfo, new: Obj, old: Obj, subresource: str) -> None:
    """rest.BeforeUpdate + PrepareForUpdate of the main or the status strategy."""
    new_meta, old_meta = new.setdefault("metadata", {}), old.get("metadata", {})
    # System fields cannot be changed by an update.
    for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if k in old_meta:
            new_meta[k] = old_meta[k]
        else:
            new_meta.pop(k, None)
    new_meta.pop("selfLink", None)
    if info.namespaced:
        new_meta["namespace"] = old_meta.get("namespace", "")
    if subresource in ("binding", "finalize"):
        return  # the subresource's REST code changed exactly what it may change
    if subresource == "status":
        # The status strategy: everything but status (and the metadata a status writer
        # may touch) stays as it was.
        for k in list(new):
            if k not in ("metadata", "status", "apiVersion", "kind"):
                del new[k]
        for k, v in old.items():
            if k not in ("metadata", "status", "apiVersion", "kind"):
                new[k] = copy.deepcopy(v)
        for k in ("ownerReferences", "finalizers", "generation"):
            if k in old_meta:
                new_meta[k] = copy.deepcopy(old_meta[k])
            else:
                new_meta.pop(k, None)
        return
    if has_status(info):
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if info.gvk.kind in GENERATION_KINDS:
        generation = old_meta.get("generation", 1)
        if new.get("spec") != old.get("spec"):
            generation += 1
        new_meta["generation"] = generation
    else:
        new_meta.pop("generation", None)
