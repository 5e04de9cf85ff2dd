"""Circuit breakers: per-cluster limits on connections, pending requests, requests, retries.

Mirrors source/common/upstream/resource_manager_impl.h (ResourceManagerImpl, ManagedResourceImpl
with canCreate/inc/dec and the `circuit_breakers.<priority>.<name>_open` and
`remaining_<name>` gauges). Defaults are Envoy's: 1024 connections, 1024 pending requests,
1024 requests, 3 retries. The router turns a refusal into a 503 with `x-envoy-overloaded`
(and the `UO` response flag) and bumps `upstream_rq_pending_overflow` / `upstream_rq_retry_overflow`
/ `upstream_cx_overflow`. As in Envoy, a threshold holds for the whole server: with worker
processes the counts live in the shared segment (shared_memory.py), one int64 slot per
(resource, worker) that only that worker changes, and a check sums the slots of all workers.
Omitted: the HIGH priority (routes here are DEFAULT), retry budgets, max_connection_pools.
"""

from __future__ import annotations

from miniproxy.envoy.stats import Scope

DEFAULTS = {
    "max_connections": 1024,
    "max_pending_requests": 1024,
    "max_requests": 1024,
    "max_retries": 3,
}
_GAUGE = {
    "max_connections": "cx",
    "max_pending_requests": "rq_pending",
    "max_requests": "rq",
    "max_retries": "rq_retry",
}
_ORDER = ("max_connections", "max_pending_requests", "max_requests", "max_retries")


def _private(n: int = 1) -> memoryview:
    return memoryview(bytearray(8 * n)).cast("q")


class Resource:
    """ManagedResourceImpl: a count against a max. The count is the sum of `slots`, one per
    worker process (main only reads them); this process changes only `slots[mine]`.

    Like Envoy's canCreate() then inc() on an atomic, check-then-increment is not atomic
    across workers: two workers may both see room for the last unit and both take it, so a
    count can pass its max by at most (workers - 1) for a moment. The `_open` and `remaining_`
    gauges read the sum when stats are rendered, so inc/dec touch only one slot."""

    def __init__(self, max_value: int, scope: Scope | None, gauge: str) -> None:
        self.max = max_value
        self.slots = _private()
        self.mine = 0
        if scope is not None:
            # Registered on main only: its sum over the shared slots is the server's value.
            scope.derived_gauge(f"{gauge}_open", lambda: 1 if self.count >= self.max else 0, max)
            scope.derived_gauge(f"remaining_{gauge}", lambda: max(self.max - self.count, 0), min)

    @property
    def count(self) -> int:
        return sum(self.slots)

    def can_create(self) -> bool:
        return sum(self.slots) < self.max

    def inc(self) -> None:
        self.slots[self.mine] += 1

    def dec(self) -> None:
        self.slots[self.mine] -= 1

    def attach(self, slots: memoryview, mine: int) -> None:
        """Count in shared `slots` from now on; what this process already holds moves along."""
        held = self.slots[self.mine]
        self.slots, self.mine = slots, mine
        slots[mine] += held

    def detach(self) -> None:
        """Back to private memory (the cluster is gone from the config; its block will be
        reused): requests still in flight release into a slot nobody else reads."""
        private = _private()
        private[0] = self.slots[self.mine]
        self.slots, self.mine = private, 0


class ResourceManager:
    """ResourceManagerImpl for the DEFAULT priority of one cluster."""

    def __init__(self, thresholds_pb, scope: Scope, gauges: bool = True) -> None:
        values = dict(DEFAULTS)
        if thresholds_pb is not None:
            for name in DEFAULTS:
                if thresholds_pb.HasField(name):
                    values[name] = getattr(thresholds_pb, name).value
        s = scope.scope("circuit_breakers.default.") if gauges else None
        self.connections, self.pending_requests, self.requests, self.retries = (
            Resource(values[n], s, _GAUGE[n]) for n in _ORDER
        )
        self.all = (self.connections, self.pending_requests, self.requests, self.retries)
        self.block = -1  # the shared block in use, -1 while counts are private

    def attach(self, block: memoryview, index: int, workers: int, mine: int) -> None:
        """Use shared block `index` (RESOURCES × workers slots) as worker `mine`."""
        for i, r in enumerate(self.all):
            r.attach(block[i * workers : (i + 1) * workers], mine)
        self.block = index

    def detach(self) -> None:
        for r in self.all:
            r.detach()
        self.block = -1
