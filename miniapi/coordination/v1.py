"""Lease (coordination.k8s.io/v1): node heartbeats and leader election locks.

Mirrors k8s.io/api/coordination/v1/types.go (Lease, LeaseSpec, LeaseList).
acquireTime and renewTime are MicroTime upstream (microsecond precision).
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import ListMeta, MicroTime, ObjectMeta

__all__ = ["Lease", "LeaseList", "LeaseSpec"]


class LeaseSpec(Struct, frozen=True, kw_only=True):
    """Who holds the lease, for how long, and when it was last renewed."""

    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: MicroTime | None = None
    renew_time: MicroTime | None = None
    lease_transitions: int | None = None
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(Struct, frozen=True, kw_only=True):
    """A lease object."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: LeaseSpec = field(default_factory=LeaseSpec)


class LeaseList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of leases."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Lease] = []
