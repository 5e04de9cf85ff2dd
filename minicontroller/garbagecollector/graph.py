"""The garbage collector's ownerReferences graph, as a pure state machine.

Mirrors k8s.io/kubernetes/pkg/controller/garbagecollector/graph.go (node:
identity, owners, dependents, the virtual / beingDeleted / deletingDependents
flags) and graph_builder.go (processGraphChanges: insert a node and link it to
its owners, creating virtual owner nodes to be verified; diff owner lists on
update; on delete unlink and wake dependents and owners that wait for them;
processTransitions for the `orphan` and `foregroundDeletion` finalizers).
`process` takes one event and returns the work it causes instead of adding to
queues itself, so it can be tested without an API server.
Omitted: the absentOwnerCache, the coordinator/namespace mismatch checks
(reportInvalidNamespaceOwnerRef) and the RESTMapper (identities carry apiVersion and kind only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ADD",
    "ATTEMPT_TO_DELETE",
    "ATTEMPT_TO_ORPHAN",
    "DELETE",
    "FINALIZER_DELETE_DEPENDENTS",
    "FINALIZER_ORPHAN",
    "UPDATE",
    "Event",
    "Graph",
    "Identity",
    "Node",
    "Owner",
]

FINALIZER_ORPHAN = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"

ADD, UPDATE, DELETE = "add", "update", "delete"
ATTEMPT_TO_DELETE, ATTEMPT_TO_ORPHAN = "attempt_to_delete", "attempt_to_orphan"


@dataclass(frozen=True)
class Identity:
    """objectReference: who a node is (namespace empty for cluster-scoped kinds)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class Owner:
    """One metav1.OwnerReference as the graph needs it."""

    api_version: str
    kind: str
    name: str
    uid: str
    block_owner_deletion: bool = False


@dataclass
class Node:
    identity: Identity
    owners: tuple[Owner, ...] = ()
    dependents: set[str] = field(default_factory=set)
    virtual: bool = False
    being_deleted: bool = False
    deleting_dependents: bool = False
    finalizers: tuple[str, ...] = ()

    def blocking_dependents(self, graph: Graph) -> list[Node]:
        """Dependents whose ownerReference to this node has blockOwnerDeletion=true."""
        out = []
        for uid in sorted(self.dependents):
            dep = graph.nodes.get(uid)
            if dep and any(
                o.uid == self.identity.uid and o.block_owner_deletion for o in dep.owners
            ):
                out.append(dep)
        return out


@dataclass(frozen=True)
class Event:
    """An informer event (or a virtual delete the collector injects)."""

    type: str
    identity: Identity
    owners: tuple[Owner, ...] = ()
    being_deleted: bool = False
    finalizers: tuple[str, ...] = ()
    virtual: bool = False


Work = list[tuple[str, str]]  # (queue, node uid)


class Graph:
    """uid -> Node; every dependents set mirrors the owners lists pointing at it."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        # Dependents still pointing at a removed node: a node re-added under the same
        # uid (a virtual delete raced with the informer) gets them back.
        self.unowned: dict[str, set[str]] = {}

    def process(self, event: Event) -> Work:
        """processGraphChanges for one event: the items to enqueue, in order."""
        uid = event.identity.uid
        existing = self.nodes.get(uid)
        if event.type == DELETE:
            return self._delete(event, existing)
        if existing is None:
            node = Node(event.identity, event.owners, finalizers=event.finalizers)
            node.being_deleted = event.being_deleted
            node.dependents = self.unowned.pop(uid, set())
            self.nodes[uid] = node
            work = self._link_owners(node, node.owners)
            return work + self._transitions(None, node)
        old = Node(existing.identity, existing.owners, set(), existing.virtual,
                   existing.being_deleted, existing.deleting_dependents, existing.finalizers)  # fmt: skip
        # An object seen by the informer is no longer virtual (markObserved).
        existing.virtual = False
        existing.identity = event.identity
        work: Work = []
        if existing.owners != event.owners:
            work += self._change_owners(existing, event.owners)
        existing.being_deleted = existing.being_deleted or event.being_deleted
        existing.finalizers = event.finalizers
        return work + self._transitions(old, existing)

    def _link_owners(self, node: Node, owners: tuple[Owner, ...]) -> Work:
        """Add node to each owner's dependents; unknown owners become virtual nodes to verify."""
        work: Work = []
        for o in owners:
            owner = self.nodes.get(o.uid)
            if owner is None:
                ident = Identity(o.api_version, o.kind, node.identity.namespace, o.name, o.uid)
                owner = Node(ident, dependents=self.unowned.pop(o.uid, set()), virtual=True)
                self.nodes[o.uid] = owner
                work.append((ATTEMPT_TO_DELETE, o.uid))
            owner.dependents.add(node.identity.uid)
        return work

    def _change_owners(self, node: Node, new: tuple[Owner, ...]) -> Work:
        """referencesDiffs + addUnblockedOwnersToDeleteQueue, then relink."""
        old_by_uid = {o.uid: o for o in node.owners}
        new_by_uid = {o.uid: o for o in new}
        work: Work = []
        for uid, o in old_by_uid.items():
            n = new_by_uid.get(uid)
            unblocked = o.block_owner_deletion and (n is None or not n.block_owner_deletion)
            owner = self.nodes.get(uid)
            if unblocked and owner is not None and owner.deleting_dependents:
                # The owner waits in foreground deletion; one fewer blocker may free it.
                work.append((ATTEMPT_TO_DELETE, uid))
            if n is None:
                self._unlink(uid, node.identity.uid)
        added = tuple(o for o in new if o.uid not in old_by_uid)
        node.owners = new
        return work + self._link_owners(node, added)

    def _transitions(self, old: Node | None, node: Node) -> Work:
        """processTransitions: start orphaning or foreground deletion once."""
        work: Work = []
        if _starts(old, node, FINALIZER_ORPHAN):
            work.append((ATTEMPT_TO_ORPHAN, node.identity.uid))
        if _starts(old, node, FINALIZER_DELETE_DEPENDENTS):
            node.deleting_dependents = True
            work += [(ATTEMPT_TO_DELETE, d) for d in sorted(node.dependents)]
            work.append((ATTEMPT_TO_DELETE, node.identity.uid))
        return work

    def _delete(self, event: Event, existing: Node | None) -> Work:
        if existing is None:
            return []
        if event.virtual and not existing.virtual:
            # The informer has seen the object since the lookup was queued: keep it.
            return []
        if existing.identity.uid != event.identity.uid:
            return []
        return self.remove(existing)

    def remove(self, node: Node) -> Work:
        """removeNode: unlink; wake its dependents and owners waiting on it."""
        uid = node.identity.uid
        del self.nodes[uid]
        work: Work = [(ATTEMPT_TO_DELETE, d) for d in sorted(node.dependents)]
        if node.dependents:
            self.unowned[uid] = set(node.dependents)
        for o in node.owners:
            self._unlink(o.uid, uid)
            owner = self.nodes.get(o.uid)
            if owner is not None and owner.deleting_dependents:
                work.append((ATTEMPT_TO_DELETE, o.uid))
        return work

    def _unlink(self, owner_uid: str, dependent_uid: str) -> None:
        owner = self.nodes.get(owner_uid)
        deps = owner.dependents if owner is not None else self.unowned.get(owner_uid, set())
        deps.discard(dependent_uid)
        if owner is None and not deps:
            self.unowned.pop(owner_uid, None)


def _starts(old: Node | None, new: Node, finalizer: str) -> bool:
    """startsWaitingForDependentsOrphaned / ...Deleted: became deleting with the finalizer."""
    now = new.being_deleted and finalizer in new.finalizers
    before = old is not None and old.being_deleted and finalizer in old.finalizers
    return now and not before
