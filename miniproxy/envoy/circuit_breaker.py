"""Circuit breakers: per-cluster limits on connections, pending requests, requests, retries.

Mirrors source/common/upstream/resource_manager_impl.h (ResourceManagerImpl, ManagedResourceImpl
with canCreate/inc/dec and the `circuit_breakers.<priority>.<name>_open` and
`remaining_<name>` gauges). Defaults are Envoy's: 1024 connections, 1024 pending requests,
1024 requests, 3 retries. The router turns a refusal into a 503 with `x-envoy-overloaded`
(and the `UO` response flag) and bumps `upstream_rq_pending_overflow` / `upstream_rq_retry_overflow`
/ `upstream_cx_overflow`. Pure counters.
With worker processes each worker has its own counts (Envoy's are atomics shared by all
workers), so a threshold applies per worker.
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


class Resource:
    """ManagedResourceImpl: a count against a max; the `_open` and `remaining_` gauges read
    the count when stats are rendered, so inc/dec (twice per request) touch only the count."""

    def __init__(self, max_value: int, scope: Scope, gauge: str) -> None:
        self.max = max_value
        self.count = 0
        # With worker processes each worker enforces the thresholds on its own traffic: the
        # merged gauges read open if any worker is open, remaining as the tightest worker.
        scope.derived_gauge(f"{gauge}_open", lambda: 1 if self.count >= self.max else 0, max)
        scope.derived_gauge(f"remaining_{gauge}", lambda: max(self.max - self.count, 0), min)

    def can_create(self) -> bool:
        return self.count < self.max

    def inc(self) -> None:
        self.count += 1

    def dec(self) -> None:
        self.count -= 1


class ResourceManager:
    """ResourceManagerImpl for the DEFAULT priority of one cluster."""

    def __init__(self, thresholds_pb, scope: Scope) -> None:
        values = dict(DEFAULTS)
        if thresholds_pb is not None:
            for name in DEFAULTS:
                if thresholds_pb.HasField(name):
                    values[name] = getattr(thresholds_pb, name).value
        s = scope.scope("circuit_breakers.default.")
        self.connections, self.pending_requests, self.requests, self.retries = (
            Resource(values[n], s, _GAUGE[n])
            for n in ("max_connections", "max_pending_requests", "max_requests", "max_retries")
        )
