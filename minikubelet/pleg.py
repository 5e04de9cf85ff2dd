"""The pod lifecycle event generator: one relist of the runtime per period, diffed.

Mirrors pkg/kubelet/pleg/generic.go (GenericPLEG.Relist: list every pod's sandboxes and
containers once, compare each one's state with the previous relist, and emit
ContainerStarted / ContainerDied / ContainerRemoved / ContainerChanged for the pods that
changed; generateEvents' state table; relistPeriod 1 s). The kubelet's sync loop hands
each event to its pod's worker, so a worker wakes when its containers change instead of
polling the runtime on its own. Sandboxes count as containers, as upstream's relist
folds them in. A pure core: the adapter passes the states it listed.
Omitted: the pod cache (the worker reads the runtime itself), the evented PLEG (CRI
container events), relist health checks.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNNING, EXITED, CREATED, UNKNOWN = "RUNNING", "EXITED", "CREATED", "UNKNOWN"
NON_EXISTENT = "NON_EXISTENT"
RELIST_PERIOD = 1.0

CONTAINER_STARTED, CONTAINER_DIED = "ContainerStarted", "ContainerDied"
CONTAINER_REMOVED, CONTAINER_CHANGED = "ContainerRemoved", "ContainerChanged"

# pod uid -> container or sandbox id -> state (one of the constants above)
PodStates = dict[str, dict[str, str]]


@dataclass(frozen=True)
class PodLifecycleEvent:
    id: str  # the pod's UID
    type: str
    data: str  # the container's id


def generate_events(uid: str, cid: str, old: str, new: str) -> list[PodLifecycleEvent]:
    """generateEvents: what a container moving from `old` to `new` tells its pod worker."""
    if old == new:
        return []
    if new == RUNNING:
        return [PodLifecycleEvent(uid, CONTAINER_STARTED, cid)]
    if new == EXITED:
        return [PodLifecycleEvent(uid, CONTAINER_DIED, cid)]
    if new in (UNKNOWN, CREATED):  # upstream maps "created" to unknown
        return [PodLifecycleEvent(uid, CONTAINER_CHANGED, cid)]
    # NON_EXISTENT: a container that vanished while running died first.
    if old == EXITED:
        return [PodLifecycleEvent(uid, CONTAINER_REMOVED, cid)]
    return [PodLifecycleEvent(uid, CONTAINER_DIED, cid),
            PodLifecycleEvent(uid, CONTAINER_REMOVED, cid)]  # fmt: skip


class GenericPLEG:
    """Remembers the last relist; `relist(current)` returns what changed since."""

    def __init__(self) -> None:
        self.records: PodStates = {}

    def relist(self, current: PodStates) -> list[PodLifecycleEvent]:
        events: list[PodLifecycleEvent] = []
        for uid in sorted(self.records.keys() | current.keys()):
            old, new = self.records.get(uid, {}), current.get(uid, {})
            for cid in sorted(old.keys() | new.keys()):
                events += generate_events(uid, cid, old.get(cid, NON_EXISTENT),
                                          new.get(cid, NON_EXISTENT))  # fmt: skip
        self.records = current
        return events
