"""Load balancers as pure functions of hosts and a seeded rng.

Reference: Envoy docs arch_overview/upstream/load_balancing/load_balancers (weighted round
robin via EDF, least request P2C, ring hash, Maglev), panic_threshold; the xxHash64 oracle is
Debian's libxxhash (XXH64), the same library Envoy links.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniproxy.envoy.hash_lb import MaglevLoadBalancer, RingHashLoadBalancer
from miniproxy.envoy.host import FAILED_OUTLIER_CHECK, Host
from miniproxy.envoy.load_balancer import (
    LbContext,
    LeastRequestLoadBalancer,
    RandomLoadBalancer,
    RoundRobinLoadBalancer,
)
from miniproxy.envoy.xxhash64 import xxhash64

_lib = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
_lib.XXH64.restype = ctypes.c_uint64
_lib.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]


@settings(deadline=None)
@given(st.binary(max_size=100), st.integers(min_value=0, max_value=2**64 - 1))
def test_xxhash64_matches_libxxhash(data, seed):
    assert xxhash64(data, seed) == _lib.XXH64(data, len(data), seed)


def hosts(weights):
    return [Host(f"10.0.0.{i + 1}", 80, w) for i, w in enumerate(weights)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=6), st.integers(0, 1000))
def test_weighted_round_robin_serves_exact_weight_shares_per_cycle(weights, seed):
    hs = hosts(weights)
    lb = RoundRobinLoadBalancer(hs, random.Random(seed))
    cycle = sum(weights)
    picks = collections.Counter(lb.choose_host() for _ in range(cycle * 4))
    for h, w in zip(hs, weights, strict=True):
        assert picks[h] == 4 * w


def test_unhealthy_hosts_are_skipped_until_panic():
    hs = hosts([1, 1, 1, 1])
    lb = RoundRobinLoadBalancer(hs, random.Random(1))
    hs[0].health_flag_set(FAILED_OUTLIER_CHECK)
    lb.refresh()
    assert hs[0] not in {lb.choose_host() for _ in range(20)}
    for h in hs[1:3]:
        h.health_flag_set(FAILED_OUTLIER_CHECK)
    lb.refresh()  # 25% healthy < 50% panic threshold: all hosts again
    assert {lb.choose_host() for _ in range(20)} == set(hs)
    assert lb.panic


def test_least_request_p2c_never_picks_the_busier_of_two_distinct_samples():
    hs = hosts([1, 1, 1])
    hs[0].stats.rq_active = 5
    lb = LeastRequestLoadBalancer(hs, random.Random(3))
    picks = collections.Counter(lb.choose_host() for _ in range(3000))
    # hs[0] wins only when both samples are hs[0]: 1/9 of picks.
    assert 200 < picks[hs[0]] < 470


@pytest.mark.parametrize("n", [3, 4, 5])
def test_ring_hash_removing_a_host_moves_few_other_keys(n):
    # The survivors gain ring entries (the ring is rescaled to min_ring_size), so a few of
    # their keys move too; consistent hashing bounds that, modulo hashing would move ~all.
    hs = hosts([1] * n)
    full = RingHashLoadBalancer(hs, random.Random(0), minimum_ring_size=256)
    fewer = RingHashLoadBalancer(hs[:-1], random.Random(0), minimum_ring_size=256)
    keys = [xxhash64(f"user-{k}") for k in range(400)]
    kept = [k for k in keys if full.choose_host(LbContext(k)) is not hs[-1]]
    moved = sum(fewer.choose_host(LbContext(k)) is not full.choose_host(LbContext(k)) for k in kept)
    assert moved / len(kept) < 0.2


def test_ring_hash_ring_size_and_share():
    hs = hosts([1, 3])
    lb = RingHashLoadBalancer(hs, random.Random(0), minimum_ring_size=1024)
    counts = collections.Counter(lb.ring_hosts)
    assert len(lb.ring_hashes) >= 1024
    assert counts[hs[1]] / counts[hs[0]] == 3


def test_maglev_table_is_full_balanced_and_weighted():
    hs = hosts([1, 1, 2])
    lb = MaglevLoadBalancer(hs, random.Random(0), table_size=65537)
    counts = collections.Counter(lb.table)
    assert sum(counts.values()) == 65537 and None not in counts
    assert abs(counts[hs[2]] / counts[hs[0]] - 2) < 0.01
    assert abs(counts[hs[0]] - counts[hs[1]]) <= 1


def test_maglev_same_hosts_in_any_order_build_the_same_table():
    a = hosts([1, 1, 1, 1])
    lb1 = MaglevLoadBalancer(a, random.Random(0), table_size=251)
    lb2 = MaglevLoadBalancer(list(reversed(a)), random.Random(0), table_size=251)
    assert lb1.table == lb2.table


def test_random_balancer_covers_every_host_evenly():
    hs = hosts([1, 1, 1, 1])
    lb = RandomLoadBalancer(hs, random.Random(5))
    picks = collections.Counter(lb.choose_host() for _ in range(4000))
    assert all(850 < picks[h] < 1150 for h in hs)
