"""Load balancers: ROUND_ROBIN, LEAST_REQUEST and RANDOM over one host set.

Mirrors source/common/upstream/load_balancer_impl.cc and its successors under
source/extensions/load_balancing_policies/ (EdfLoadBalancerBase, RoundRobinLoadBalancer,
LeastRequestLoadBalancer, RandomLoadBalancer) and source/common/upstream/edf_scheduler.h.
Equal weights take the unweighted fast path (rr index / power of two choices); unequal
weights go through the earliest-deadline-first scheduler. When the healthy share of hosts
falls under the panic threshold (50%), the balancer uses all hosts (`lb_healthy_panic`).
Pure: the random source is injected.
Omitted: priorities, locality/zone aware routing, slow start.
"""

from __future__ import annotations

import heapq
import random

from miniproxy.envoy.host import Host

PANIC_THRESHOLD = 50.0


class EdfScheduler:
    """EdfScheduler: pick the entry with the earliest deadline, re-add it one period later."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Host]] = []
        self.current_time = 0.0
        self.order = 0

    def add(self, weight: float, host: Host) -> None:
        self.heap.append((self.current_time + 1.0 / weight, self.order, host))
        self.order += 1
        heapq.heapify(self.heap)

    def pick_and_add(self, weight_fn) -> Host | None:
        if not self.heap:
            return None
        deadline, _, host = heapq.heappop(self.heap)
        self.current_time = deadline
        heapq.heappush(self.heap, (deadline + 1.0 / weight_fn(host), self.order, host))
        self.order += 1
        return host


class LoadBalancerBase:
    """Host-set bookkeeping shared by the balancers: healthy list and panic mode."""

    def __init__(
        self, hosts: list[Host], rng: random.Random, panic_threshold: float = PANIC_THRESHOLD
    ) -> None:
        self.rng = rng
        self.panic_threshold = panic_threshold
        self.panic_count = 0
        self.hosts: list[Host] = []
        self.update_hosts(hosts)

    def update_hosts(self, hosts: list[Host]) -> None:
        self.hosts = list(hosts)
        self.refresh()

    def refresh(self) -> None:
        """Recompute the host list the balancer picks from (call on health changes)."""
        healthy = [h for h in self.hosts if h.healthy()]
        total = len(self.hosts)
        self.panic = total > 0 and 100.0 * len(healthy) / total < self.panic_threshold
        self.targets = self.hosts if self.panic else healthy
        self.rebuild()

    def rebuild(self) -> None:
        """Per-balancer state over self.targets."""

    def choose_host(self, context: LbContext | None = None) -> Host | None:
        if not self.targets:
            return None
        if self.panic:
            self.panic_count += 1
        return self.pick(context)  # each concrete balancer defines pick()


class LbContext:
    """LoadBalancerContext: what a hashing balancer may use (a computed hash)."""

    __slots__ = ("hash_key",)

    def __init__(self, hash_key: int | None = None) -> None:
        self.hash_key = hash_key


class RoundRobinLoadBalancer(LoadBalancerBase):
    def rebuild(self) -> None:
        weights = {h.weight for h in self.targets}
        self.weighted = len(weights) > 1
        # Envoy seeds the unweighted index randomly so fleets do not move in lock step.
        self.rr_index = self.rng.randrange(len(self.targets)) if self.targets else 0
        self.scheduler = EdfScheduler()
        if self.weighted:
            for h in self.targets:
                self.scheduler.add(h.weight, h)

    def pick(self, context: LbContext | None) -> Host | None:
        if self.weighted:
            return self.scheduler.pick_and_add(lambda h: h.weight)
        host = self.targets[self.rr_index % len(self.targets)]
        self.rr_index += 1
        return host


class LeastRequestLoadBalancer(LoadBalancerBase):
    """P2C over active requests when weights are equal, else EDF with weight/(active+1)^bias."""

    def __init__(
        self,
        hosts: list[Host],
        rng: random.Random,
        choice_count: int = 2,
        active_request_bias: float = 1.0,
        **kw,
    ) -> None:
        self.choice_count = choice_count
        self.bias = active_request_bias
        super().__init__(hosts, rng, **kw)

    def rebuild(self) -> None:
        self.weighted = len({h.weight for h in self.targets}) > 1
        self.scheduler = EdfScheduler()
        if self.weighted:
            for h in self.targets:
                self.scheduler.add(self._effective_weight(h), h)

    def _effective_weight(self, h: Host) -> float:
        return h.weight / ((h.stats.rq_active + 1) ** self.bias)

    def pick(self, context: LbContext | None) -> Host | None:
        if self.weighted:
            return self.scheduler.pick_and_add(self._effective_weight)
        candidate = None
        for _ in range(self.choice_count):
            sample = self.targets[self.rng.getrandbits(64) % len(self.targets)]
            if candidate is None or sample.stats.rq_active < candidate.stats.rq_active:
                candidate = sample
        return candidate


class RandomLoadBalancer(LoadBalancerBase):
    def pick(self, context: LbContext | None) -> Host | None:
        return self.targets[self.rng.getrandbits(64) % len(self.targets)]
