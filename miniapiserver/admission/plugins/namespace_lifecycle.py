"""NamespaceLifecycle: no new objects in a missing or terminating namespace.

Mirrors kubernetes/staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/
admission.go (Lifecycle.Admit): the immortal namespaces default, kube-system and
kube-public may not be deleted; operations on namespaces themselves, deletions and
cluster-scoped objects pass; anything else needs its namespace to exist (the watch
cache first, then a live read of etcd, as upstream falls back to a live lookup), and a
create into a Terminating namespace is 403 with the NamespaceTerminating cause.
Omitted: the force-live-lookup TTL cache after a namespace delete (the cache miss
already falls through to etcd), access-review exemptions (reviews bypass admission).
"""

from __future__ import annotations

import msgspec

from miniapi import errors
from miniapi.core.v1 import NAMESPACE_TERMINATING_CAUSE
from miniapi.meta.v1 import StatusCause
from miniapiserver.admission.attributes import CREATE, DELETE, UPDATE, Attributes, new_forbidden
from miniapiserver.admission.chain import Plugin
from miniapiserver.registry.store import RegistryStore

PLUGIN_NAME = "NamespaceLifecycle"
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


def new_plugin(namespaces: RegistryStore) -> Plugin:
    async def admit(a: Attributes) -> None:
        if a.operation == DELETE and a.is_namespace() and a.name in IMMORTAL_NAMESPACES:
            raise errors.new_forbidden(
                a.group_resource, a.name, "this namespace may not be deleted"
            )
        if not a.namespace and not a.is_namespace():
            return  # cluster-scoped objects
        if a.is_namespace() or a.operation == DELETE:
            return
        ns = await namespaces.cacher.get(namespaces.key("", a.namespace))
        if ns is None:
            ns = await namespaces.storage.get(
                namespaces.key("", a.namespace), ignore_not_found=True
            )
        if ns is None:
            raise errors.new_not_found(namespaces.gr, a.namespace)
        if a.operation == CREATE and ns.get("status", {}).get("phase") == "Terminating":
            raise _terminating(a)

    return Plugin(PLUGIN_NAME, frozenset({CREATE, UPDATE, DELETE}), admit=admit)


def _terminating(a: Attributes) -> errors.StatusError:
    msg = f"unable to create new content in namespace {a.namespace} because it is being terminated"
    err = new_forbidden(a, msg)
    details = err.status.details
    cause = StatusCause(
        type=NAMESPACE_TERMINATING_CAUSE,
        message=f"namespace {a.namespace} is being terminated",
        field="metadata.namespace",
    )
    causes = [*(details.causes or []), cause] if details is not None else [cause]
    details = msgspec.structs.replace(details, causes=causes) if details is not None else None
    return errors.from_status(msgspec.structs.replace(err.status, details=details))
