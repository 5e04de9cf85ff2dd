"""Consistent-hash balancers: RING_HASH (Ketama-style ring) and MAGLEV, and hash policies.

Mirrors source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc (Ring: each host
gets `scale × normalized weight` entries keyed `"<address>_<i>"`, scale chosen so the lightest
host still gets ceil(min_ring_size × min weight) entries, sorted by xxHash64; lookup takes the
first entry ≥ the hash, wrapping), .../maglev/maglev_lb.cc (OriginalMaglevTable: hosts sorted
by address, offset = xxHash64(addr) % M, skip = xxHash64(addr, 1) % (M−1) + 1, filled by
weight; default M = 65537) and source/common/http/hash_policy.cc (header and source-IP
policies, combined by rotate-left-1 xor). Pure.
Omitted: murmur hash, bounded load (hash_balance_factor), cookie and query hash policies.
"""

from __future__ import annotations

import bisect
import math

from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.host import Host
from miniproxy.envoy.load_balancer import LbContext, LoadBalancerBase
from miniproxy.envoy.xxhash64 import xxhash64

M64 = (1 << 64) - 1


def normalized_weights(hosts: list[Host]) -> tuple[list[tuple[Host, float]], float, float]:
    total = sum(h.weight for h in hosts)
    out = [(h, h.weight / total) for h in hosts]
    return out, min(w for _, w in out), max(w for _, w in out)


class RingHashLoadBalancer(LoadBalancerBase):
    def __init__(
        self, hosts, rng, minimum_ring_size: int = 1024, maximum_ring_size: int = 8388608, **kw
    ) -> None:
        self.min_ring = minimum_ring_size
        self.max_ring = maximum_ring_size
        super().__init__(hosts, rng, **kw)

    def rebuild(self) -> None:
        self.ring_hashes: list[int] = []
        self.ring_hosts: list[Host] = []
        if not self.targets:
            return
        weights, min_w, _ = normalized_weights(self.targets)
        scale = min(math.ceil(min_w * self.min_ring) / min_w, float(self.max_ring))
        ring: list[tuple[int, Host]] = []
        current = 0.0
        target = 0.0
        for host, w in weights:
            target += scale * w
            i = 0
            while current < target:
                ring.append((xxhash64(f"{host.address_string}_{i}"), host))
                i += 1
                current += 1
        ring.sort(key=lambda e: e[0])
        self.ring_hashes = [h for h, _ in ring]
        self.ring_hosts = [host for _, host in ring]

    def pick(self, context: LbContext | None) -> Host | None:
        h = (
            context.hash_key
            if context and context.hash_key is not None
            else self.rng.getrandbits(64)
        )
        i = bisect.bisect_left(self.ring_hashes, h)
        return self.ring_hosts[i if i < len(self.ring_hosts) else 0]


class MaglevLoadBalancer(LoadBalancerBase):
    DEFAULT_TABLE_SIZE = 65537

    def __init__(self, hosts, rng, table_size: int = DEFAULT_TABLE_SIZE, **kw) -> None:
        if not _is_prime(table_size):
            raise ValueError("The table size of maglev must be prime number")
        self.table_size = table_size
        super().__init__(hosts, rng, **kw)

    def rebuild(self) -> None:
        self.table: list[Host | None] = []
        if not self.targets:
            return
        m = self.table_size
        weights, _, max_w = normalized_weights(self.targets)
        weights.sort(key=lambda e: e[0].address_string)
        # [host, offset, skip, weight, target_weight, next]
        entries = [
            [
                h,
                xxhash64(h.address_string) % m,
                xxhash64(h.address_string, 1) % (m - 1) + 1,
                w,
                0.0,
                0,
            ]
            for h, w in weights
        ]
        table: list[Host | None] = [None] * m
        filled = 0
        iteration = 1
        while filled < m:
            for e in entries:
                if filled >= m:
                    break
                if iteration * e[3] < e[4]:
                    continue
                e[4] += max_w
                c = (e[1] + e[2] * e[5]) % m
                while table[c] is not None:
                    e[5] += 1
                    c = (e[1] + e[2] * e[5]) % m
                table[c] = e[0]
                e[5] += 1
                filled += 1
            iteration += 1
        self.table = table

    def pick(self, context: LbContext | None) -> Host | None:
        h = (
            context.hash_key
            if context and context.hash_key is not None
            else self.rng.getrandbits(64)
        )
        return self.table[h % self.table_size]


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


def compute_hash(policies: list, headers: HeaderMap, source_ip: str) -> int | None:
    """HashPolicyImpl::generateHash: None when no policy produced a hash."""
    result: int | None = None
    for p in policies:
        kind = p.WhichOneof("policy_specifier")
        value: int | None = None
        if kind == "header":
            values = headers.get_all(p.header.header_name.lower())
            if values:
                value = xxhash64("".join(sorted(values)) if len(values) > 1 else values[0])
        elif kind == "connection_properties" and p.connection_properties.source_ip and source_ip:
            value = xxhash64(source_ip)
        if value is not None:
            result = value if result is None else ((((result << 1) | (result >> 63)) & M64) ^ value)
            if p.terminal:
                break
    return result
