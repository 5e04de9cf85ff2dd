"""The lessor: grants, renews, checkpoints and revokes leases; keys hang off leases.

Mirrors etcd server/lease/lessor.go (lessor, Lease, Grant, Revoke, Renew,
Promote, Demote, Checkpoint, findExpiredLeases, Attach/Detach). Only the primary
(the Raft leader) tracks expiry; followers hold every lease "forever" until they
are promoted, which refreshes each lease to its remaining TTL (checkpointed, or
the full TTL) plus an extension — so a lease never expires early because the
leader changed. Time is injected as `now` (seconds); the core reads no clock.
Omitted: the revoke rate limiter, the expiry heap (a scan is enough here),
persisting to a backend bucket (snapshots carry the leases instead).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from miniraft.server.mvcc.errors import ErrLeaseExists, ErrLeaseNotFound, ErrLeaseTTLTooLarge

NO_LEASE = 0
MAX_LEASE_TTL = 9_000_000_000
FOREVER = math.inf


class ErrNotPrimary(Exception):
    """Renew or TimeToLive asked of a member that is not the leader."""

    def __init__(self) -> None:
        super().__init__("not a primary lessor")


@dataclass
class Lease:
    id: int
    ttl: int
    remaining_ttl: int = 0  # checkpointed remaining TTL, 0 when none
    expiry: float = FOREVER
    keys: set[bytes] = field(default_factory=set)

    def remaining_ttl_or_ttl(self) -> int:
        return self.remaining_ttl if self.remaining_ttl > 0 else self.ttl

    def refresh(self, now: float, extend: float) -> None:
        self.expiry = now + extend + self.remaining_ttl_or_ttl()

    def remaining(self, now: float) -> float:
        return FOREVER if self.expiry == FOREVER else self.expiry - now


class Lessor:
    """lessor in lessor.go; `range_deleter` opens a write txn on the KV store."""

    def __init__(self, min_lease_ttl: int, range_deleter: Callable[[], object] | None = None):
        self.min_lease_ttl = min_lease_ttl
        self.range_deleter = range_deleter
        self.lease_map: dict[int, Lease] = {}
        self.item_map: dict[bytes, int] = {}
        self.primary = False

    def grant(self, lease_id: int, ttl: int, now: float) -> Lease:
        if lease_id == NO_LEASE:
            raise ErrLeaseNotFound()
        if ttl > MAX_LEASE_TTL:
            raise ErrLeaseTTLTooLarge()
        if lease_id in self.lease_map:
            raise ErrLeaseExists()
        lease = Lease(lease_id, max(ttl, self.min_lease_ttl))
        if self.primary:
            lease.refresh(now, 0)
        self.lease_map[lease_id] = lease
        return lease

    def revoke(self, lease_id: int) -> None:
        """Delete the lease and, in one write transaction, every key attached to it."""
        lease = self.lease_map.get(lease_id)
        if lease is None:
            raise ErrLeaseNotFound()
        if self.range_deleter is not None:
            txn = self.range_deleter()
            for key in sorted(lease.keys):
                txn.delete_range(key, None)
            del self.lease_map[lease_id]
            txn.end()
        else:
            del self.lease_map[lease_id]
        for key in lease.keys:
            self.item_map.pop(key, None)

    def renew(self, lease_id: int, now: float) -> int:
        """Restart the lease's TTL (keep-alive); only the primary may."""
        if not self.primary:
            raise ErrNotPrimary()
        lease = self.lease_map.get(lease_id)
        if lease is None or lease.remaining(now) <= 0:
            raise ErrLeaseNotFound()  # expired: its revoke is already on its way
        lease.remaining_ttl = 0
        lease.refresh(now, 0)
        return lease.ttl

    def lookup(self, lease_id: int) -> Lease | None:
        return self.lease_map.get(lease_id)

    def leases(self) -> list[Lease]:
        return sorted(self.lease_map.values(), key=lambda lease: lease.id)

    def checkpoint(self, lease_id: int, remaining_ttl: int) -> None:
        lease = self.lease_map.get(lease_id)
        if lease is not None:
            lease.remaining_ttl = remaining_ttl

    def promote(self, extend: float, now: float) -> None:
        """Become primary: every lease gets its remaining TTL again, plus extend."""
        self.primary = True
        for lease in self.lease_map.values():
            lease.refresh(now, extend)

    def demote(self) -> None:
        self.primary = False
        for lease in self.lease_map.values():
            lease.expiry = FOREVER

    def find_expired_leases(self, now: float, limit: int = 1000) -> list[Lease]:
        if not self.primary:
            return []
        out = [lease for lease in self.lease_map.values() if lease.remaining(now) <= 0]
        out.sort(key=lambda lease: lease.expiry)
        return out[:limit]

    def get_lease(self, key: bytes) -> int:
        return self.item_map.get(key, NO_LEASE)

    def attach(self, lease_id: int, keys: list[bytes]) -> None:
        lease = self.lease_map.get(lease_id)
        if lease is None:
            raise ErrLeaseNotFound()
        for key in keys:
            lease.keys.add(key)
            self.item_map[key] = lease_id

    def detach(self, lease_id: int, keys: list[bytes]) -> None:
        lease = self.lease_map.get(lease_id)
        if lease is None:
            return  # the lease was revoked in the same transaction
        for key in keys:
            lease.keys.discard(key)
            self.item_map.pop(key, None)

    def restore(self, leases: list[tuple[int, int, int]]) -> None:
        """Leases from a snapshot: (id, ttl, remaining_ttl), all forever until promoted."""
        self.lease_map = {i: Lease(i, ttl, rem) for i, ttl, rem in leases}
        self.item_map = {}
