"""The garbage collector: cascading deletion and orphaning along ownerReferences.

Mirrors k8s.io/kubernetes/pkg/controller/garbagecollector/garbagecollector.go
(attemptToDeleteItem, classifyReferences, processDeletingDependentsItem,
attemptToOrphanWorker, the virtual delete event) and graph_builder.go's
monitors (one shared informer per managed resource feeding the graph).
Background: a dependent whose owners are all gone is deleted. Foreground: an
owner with the `foregroundDeletion` finalizer waits until its dependents with
blockOwnerDeletion are gone, then loses the finalizer. Orphan: dependents
lose their ownerReferences to the owner, then the owner loses `orphan`.
Omitted: discovery of every deletable resource (a fixed list of kinds is
monitored), the absentOwnerCache, breaking foreground cycles by unblocking,
the ignored-resources list and events.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from miniapi import errors, scheme
from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.runtime import GroupVersionKind, NotRegisteredError, parse_group_version
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import DeletedFinalStateUnknown
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue
from minicontroller.garbagecollector.graph import (
    ADD,
    ATTEMPT_TO_DELETE,
    DELETE,
    FINALIZER_DELETE_DEPENDENTS,
    FINALIZER_ORPHAN,
    UPDATE,
    Event,
    Graph,
    Identity,
    Node,
    Owner,
)

__all__ = ["MONITORED_KINDS", "GarbageCollector"]

log = logging.getLogger("minicontroller.garbagecollector")

MONITORED_KINDS = (
    corev1.Pod,
    corev1.Service,
    corev1.ConfigMap,
    corev1.Secret,
    appsv1.ReplicaSet,
    appsv1.Deployment,
    discoveryv1.EndpointSlice,
)


def _event(kind: str, cls: type, obj: Any, virtual: bool = False) -> Event:
    gvk = scheme.SCHEME.object_kind(cls)
    m = obj.metadata
    ident = Identity(str(gvk.group_version), gvk.kind, m.namespace or "", m.name, m.uid)
    owners = tuple(
        Owner(o.api_version, o.kind, o.name, o.uid, bool(o.block_owner_deletion))
        for o in m.owner_references
    )
    return Event(
        kind, ident, owners, m.deletion_timestamp is not None, tuple(m.finalizers), virtual
    )


def _owner_json(o: Any) -> dict[str, Any]:
    d = {"apiVersion": o.api_version, "kind": o.kind, "name": o.name, "uid": o.uid}
    if o.controller is not None:
        d["controller"] = o.controller
    if o.block_owner_deletion is not None:
        d["blockOwnerDeletion"] = o.block_owner_deletion
    return d


class GarbageCollector:
    """The graph builder's monitors plus the attemptToDelete and attemptToOrphan workers."""

    def __init__(self, client: Client, factory: SharedInformerFactory) -> None:
        self.client = client
        self.graph = Graph()
        self.queue = RateLimitingQueue(name="garbage_collector_attempt_to_delete")
        self.orphan_queue = RateLimitingQueue(name="garbage_collector_attempt_to_orphan")
        self.informers = []
        for cls in MONITORED_KINDS:
            informer = factory.for_resource(cls)
            informer.add_event_handler(self._handlers(cls))
            self.informers.append(informer)

    def _handlers(self, cls: type) -> ResourceEventHandlerFuncs:
        def on_delete(obj: Any) -> None:
            if isinstance(obj, DeletedFinalStateUnknown):
                obj = obj.obj
            self.apply(_event(DELETE, cls, obj))

        return ResourceEventHandlerFuncs(
            lambda obj: self.apply(_event(ADD, cls, obj)),
            lambda old, cur: self.apply(_event(UPDATE, cls, cur)),
            on_delete,
        )

    def apply(self, event: Event) -> None:
        """Feed one event to the graph and queue the work it causes."""
        for queue, uid in self.graph.process(event):
            (self.queue if queue == ATTEMPT_TO_DELETE else self.orphan_queue).add(uid)

    async def run(self, workers: int) -> None:
        await wait_for_cache_sync(*self.informers)
        tasks = [
            asyncio.ensure_future(self._worker(q, sync))
            for q, sync in (
                (self.queue, self.attempt_to_delete_item),
                (self.orphan_queue, self.attempt_to_orphan),
            )
            for _ in range(workers)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shut_down()
            self.orphan_queue.shut_down()
            for t in tasks:
                t.cancel()

    async def _worker(self, queue: RateLimitingQueue, sync: Any) -> None:
        while True:
            uid, shutdown = await queue.get()
            if shutdown:
                return
            try:
                await sync(uid)
                queue.forget(uid)
            except (errors.StatusError, OSError, TimeoutError, NotRegisteredError) as e:
                log.info("%s %s failed, requeued: %s", queue.metrics.name, uid, e)
                queue.add_rate_limited(uid)
            except Exception:
                log.exception("%s %s failed unexpectedly, requeued", queue.metrics.name, uid)
                queue.add_rate_limited(uid)
            finally:
                queue.done(uid)

    def _resource(self, api_version: str, kind: str) -> tuple[Any, bool]:
        gv = parse_group_version(api_version)
        info = scheme.SCHEME.resource_for_kind(GroupVersionKind(gv.group, gv.version, kind))
        return self.client.resource(info.type), info.namespaced

    async def get_object(self, ident: Identity) -> Any | None:
        """The live object named by ident, or None if absent or a different uid."""
        rc, namespaced = self._resource(ident.api_version, ident.kind)
        try:
            obj = await rc.get(ident.name, ident.namespace if namespaced else "")
        except errors.StatusError as e:
            if errors.is_not_found(e):
                return None
            raise
        return obj if obj.metadata.uid == ident.uid else None

    def _virtual_delete(self, node: Node) -> None:
        self.apply(Event(DELETE, node.identity, virtual=True))

    async def attempt_to_delete_item(self, uid: str) -> None:
        node = self.graph.nodes.get(uid)
        if node is None:
            return
        latest = await self.get_object(node.identity)
        if latest is None:
            # Gone (or replaced by a namesake): tell the graph so its dependents get checked.
            self._virtual_delete(node)
            return
        if node.virtual:
            return  # It exists; the informer (if it watches this kind) will report it.
        if node.deleting_dependents:
            await self.process_deleting_dependents(node, latest)
            return
        if latest.metadata.deletion_timestamp is not None:
            return
        solid, dangling, waiting = await self.classify_references(node, latest)
        if solid:
            if dangling or waiting:
                gone = {o.uid for o in dangling + waiting}
                await self._patch_owner_refs(node, latest, gone)
            return
        if waiting and node.dependents:
            await self._delete(node, "Foreground")
            return
        fin = latest.metadata.finalizers
        policy = (
            "Orphan"
            if FINALIZER_ORPHAN in fin
            else "Foreground"
            if FINALIZER_DELETE_DEPENDENTS in fin
            else "Background"
        )
        await self._delete(node, policy)

    async def classify_references(self, node: Node, latest: Any) -> tuple[list, list, list]:
        """Owners that exist, that are gone, and that wait in foreground deletion."""
        solid, dangling, waiting = [], [], []
        for ref in latest.metadata.owner_references:
            ident = Identity(ref.api_version, ref.kind, node.identity.namespace, ref.name, ref.uid)
            owner = await self.get_object(ident)
            if owner is None:
                dangling.append(ref)
            elif (
                owner.metadata.deletion_timestamp is not None
                and FINALIZER_DELETE_DEPENDENTS in owner.metadata.finalizers
            ):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    async def _delete(self, node: Node, policy: str) -> None:
        ident = node.identity
        rc, namespaced = self._resource(ident.api_version, ident.kind)
        log.info("deleting %s %s/%s with %s", ident.kind, ident.namespace, ident.name, policy)
        try:
            await rc.delete(
                ident.name,
                ident.namespace if namespaced else "",
                propagation_policy=policy,
                preconditions={"uid": ident.uid},
            )
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                raise

    async def _patch_owner_refs(self, node: Node, latest: Any, remove: set[str]) -> None:
        """Drop the ownerReferences whose uid is in remove (guarded by resourceVersion)."""
        ident = node.identity
        rc, namespaced = self._resource(ident.api_version, ident.kind)
        keep = [_owner_json(o) for o in latest.metadata.owner_references if o.uid not in remove]
        body = {
            "metadata": {
                "ownerReferences": keep or None,
                "resourceVersion": latest.metadata.resource_version,
            }
        }
        await rc.patch(ident.name, body, namespace=ident.namespace if namespaced else "")

    async def _remove_finalizer(self, node: Node, latest: Any, finalizer: str) -> None:
        ident = node.identity
        rc, namespaced = self._resource(ident.api_version, ident.kind)
        rest = [f for f in latest.metadata.finalizers if f != finalizer]
        body = {
            "metadata": {
                "finalizers": rest or None,
                "resourceVersion": latest.metadata.resource_version,
            }
        }
        await rc.patch(ident.name, body, namespace=ident.namespace if namespaced else "")

    async def process_deleting_dependents(self, node: Node, latest: Any) -> None:
        """Foreground: remove the finalizer once no dependent blocks, else push them."""
        blocking = node.blocking_dependents(self.graph)
        if not blocking:
            if FINALIZER_DELETE_DEPENDENTS in latest.metadata.finalizers:
                await self._remove_finalizer(node, latest, FINALIZER_DELETE_DEPENDENTS)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.queue.add(dep.identity.uid)

    async def attempt_to_orphan(self, uid: str) -> None:
        """Remove ownerReferences to the owner from its dependents, then `orphan`."""
        owner = self.graph.nodes.get(uid)
        if owner is None:
            return
        for dep_uid in sorted(owner.dependents):
            dep = self.graph.nodes.get(dep_uid)
            if dep is None or dep.virtual:
                continue
            latest = await self.get_object(dep.identity)
            if latest is None or not any(o.uid == uid for o in latest.metadata.owner_references):
                continue
            await self._patch_owner_refs(dep, latest, {uid})
        latest_owner = await self.get_object(owner.identity)
        if latest_owner is not None and FINALIZER_ORPHAN in latest_owner.metadata.finalizers:
            await self._remove_finalizer(owner, latest_owner, FINALIZER_ORPHAN)
