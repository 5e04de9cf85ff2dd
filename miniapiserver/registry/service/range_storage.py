"""An allocator bitmap persisted as one RangeAllocation in etcd, updated by compare-and-swap.

Mirrors pkg/registry/core/service/allocator/storage/storage.go (Etcd:
tryUpdate, CreateOrUpdate, Get) and the RangeAllocation of
pkg/apis/core/types.go (`range`, `data`). Every change reads the stored
snapshot, restores the in-memory bitmap from it when someone else wrote since
(our `last` resourceVersion differs), applies the change and writes back in a
Txn guarded by the mod_revision read (Store.guaranteed_update): concurrent
creates in one server queue on a lock, and several API servers on one etcd
lose a race only to retry. The value is JSON (our store's media type) with
`data` base64-encoded as any []byte. Omitted: dry-run (callers skip it).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import TypeVar

from miniapi import errors
from miniapiserver.registry.service.bitmap import AllocationBitmap
from miniapiserver.storage.etcd3_store import Store
from miniapiserver.storage.interfaces import Obj

T = TypeVar("T")

SERVICE_IPS_KEY = "ranges/serviceips"  # under --etcd-prefix, as upstream
SERVICE_NODE_PORTS_KEY = "ranges/servicenodeports"


class _Conflict(Exception):
    """Someone changed the snapshot between the read and CreateOrUpdate."""


def range_allocation(range_spec: str, data: bytes) -> Obj:
    """A v1 RangeAllocation object as stored."""
    return {
        "kind": "RangeAllocation",
        "apiVersion": "v1",
        "metadata": {"creationTimestamp": None},
        "range": range_spec,
        "data": base64.b64encode(data).decode(),
    }


class RangeRegistry:
    """allocator/storage.Etcd: one bitmap, its etcd key and the last revision seen."""

    def __init__(self, alloc: AllocationBitmap, store: Store, key: str, resource: str) -> None:
        self.alloc = alloc
        self.store = store
        self.key = key
        self.resource = resource  # e.g. "serviceipallocations", for error texts
        self.last: str | None = None
        self.lock = asyncio.Lock()

    def _restore(self, existing: Obj) -> None:
        data = base64.b64decode(existing.get("data") or "")
        self.alloc.restore(existing.get("range", ""), data)

    async def try_update(self, fn: Callable[[], T]) -> T:
        """Run fn on the bitmap as of etcd's latest snapshot and persist the result."""
        async with self.lock:
            result: list[T] = []

            def update(existing: Obj | None) -> Obj:
                if existing is None:
                    raise errors.new_internal_error(
                        f"cannot allocate resources of type {self.resource} at this time"
                    )
                if existing["metadata"].get("resourceVersion") != self.last:
                    self._restore(existing)
                result[:] = [fn()]
                return {**existing, **range_allocation(*self.alloc.snapshot())}

            try:
                out = await self.store.guaranteed_update(self.key, update, ignore_not_found=True)
            except BaseException:
                self.last = None  # the bitmap may hold a change etcd never got: re-read
                raise
            self.last = out["metadata"].get("resourceVersion")
            return result[0]

    async def get(self) -> Obj | None:
        """The stored RangeAllocation (None before the first repair wrote it)."""
        return await self.store.get(self.key, ignore_not_found=True)

    async def create_or_update(self, snapshot_rv: str, range_spec: str, data: bytes) -> None:
        """Write a whole snapshot, only if the key is still at snapshot_rv ("" = absent)."""
        async with self.lock:

            def update(existing: Obj | None) -> Obj:
                rv = (existing or {}).get("metadata", {}).get("resourceVersion", "")
                if rv != snapshot_rv:
                    raise _Conflict()
                return range_allocation(range_spec, data)

            out = await self.store.guaranteed_update(self.key, update, ignore_not_found=True)
            self.alloc.restore(range_spec, data)
            self.last = out["metadata"].get("resourceVersion")


async def repair(registry: RangeRegistry, mark_in_use: Callable[[], Awaitable[None]]) -> None:
    """Repair.runOnce: rebuild the snapshot from what Services hold and write it with CAS.

    mark_in_use() resets the in-memory bitmap and marks every value live Services
    use. Leaked values (allocated, but held by no Service: a create that crashed
    between allocation and its write) are freed at once, where upstream waits three
    repair intervals; fine for one API server per etcd, which is how we run.
    """
    for _ in range(10):
        latest = await registry.get()
        rv = latest["metadata"].get("resourceVersion", "") if latest else ""
        async with registry.lock:
            await mark_in_use()
            spec, data = registry.alloc.snapshot()
        try:
            await registry.create_or_update(rv, spec, data)
            return
        except _Conflict:
            continue
    raise RuntimeError(f"unable to repair {registry.resource}: too many conflicts")
