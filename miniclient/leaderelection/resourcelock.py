"""The Lease lock: leader election state kept in a coordination.k8s.io/v1 Lease.

Mirrors k8s.io/client-go/tools/leaderelection/resourcelock (interface.go:
LeaderElectionRecord; leaselock.go: LeaseLock.Get/Create/Update and the
record <-> LeaseSpec conversion). Update sends the resourceVersion it read,
so two candidates racing for the lock cannot both win: the loser gets 409.
Omitted: Endpoints/ConfigMap/multi locks (removed upstream too), event recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from miniapi.base import replace
from miniapi.coordination import v1 as coordinationv1
from miniapi.meta import v1 as metav1
from miniclient.rest import Client

__all__ = ["LeaderElectionRecord", "LeaseLock"]


@dataclass(frozen=True)
class LeaderElectionRecord:
    """Who leads, for how long, since when, and how many times the lease changed hands."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    leader_transitions: int = 0


def lease_spec_to_record(spec: coordinationv1.LeaseSpec) -> LeaderElectionRecord:
    return LeaderElectionRecord(
        holder_identity=spec.holder_identity or "",
        lease_duration_seconds=spec.lease_duration_seconds or 0,
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        leader_transitions=spec.lease_transitions or 0,
    )


def record_to_lease_spec(record: LeaderElectionRecord) -> coordinationv1.LeaseSpec:
    return coordinationv1.LeaseSpec(
        holder_identity=record.holder_identity,
        lease_duration_seconds=record.lease_duration_seconds,
        acquire_time=record.acquire_time,
        renew_time=record.renew_time,
        lease_transitions=record.leader_transitions,
    )


class LeaseLock:
    """A named Lease in a namespace, plus the identity of this candidate."""

    def __init__(self, client: Client, namespace: str, name: str, identity: str) -> None:
        self.leases = client.resource(coordinationv1.Lease)
        self.namespace = namespace
        self.name = name
        self._identity = identity
        self.lease: coordinationv1.Lease | None = None

    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> LeaderElectionRecord:
        """The current record (raises NotFound when there is no Lease yet)."""
        self.lease = await self.leases.get(self.name, self.namespace)
        return lease_spec_to_record(self.lease.spec)

    async def create(self, record: LeaderElectionRecord) -> None:
        lease = coordinationv1.Lease(
            metadata=metav1.ObjectMeta(name=self.name, namespace=self.namespace),
            spec=record_to_lease_spec(record),
        )
        self.lease = await self.leases.create(lease)

    async def update(self, record: LeaderElectionRecord) -> None:
        """Write record over the Lease last read (409 Conflict if someone wrote since)."""
        if self.lease is None:
            raise ValueError("lease not initialized, call get or create first")
        self.lease = await self.leases.update(
            replace(self.lease, spec=record_to_lease_spec(record))
        )
