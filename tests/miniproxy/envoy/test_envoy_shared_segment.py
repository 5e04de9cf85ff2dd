"""The shared segment's pure parts: block layout, circuit breaker slot sums, the token bucket.

Envoy's workers share one ResourceManagerImpl per cluster (atomic counts) and one token bucket
per local rate limit config; ours share int64 slots in a memfd. These tests drive several
workers over one real segment in this process and compare with a single shared count.

Reference: source/common/upstream/resource_manager_impl.h (canCreate: count < max),
source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc (refill, consume).
"""

from __future__ import annotations

import json

from envoy.config.listener.v3 import listener_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from miniproxy.envoy.circuit_breaker import ResourceManager
from miniproxy.envoy.config import parse_dict
from miniproxy.envoy.filters.local_ratelimit import TokenBucket, find_configs, refill_and_consume
from miniproxy.envoy.shared_memory import BlockAllocator, Segment
from miniproxy.envoy.stats import Store
from tests.miniproxy.envoy.envoy_testlib import http_listener

OPS = st.lists(st.tuples(st.integers(0, 1), st.sampled_from(["inc", "dec", "check"])), max_size=80)


@settings(max_examples=60, deadline=None)
@given(OPS, st.integers(1, 5))
def test_breaker_slots_sum_to_one_shared_count(ops, limit):
    """Two workers counting on one block behave as one counter; main reads the sum."""
    seg = Segment(workers=2, capacity=4)
    try:
        store = Store()
        main = ResourceManager(None, store.scope("cluster.c."))
        workers = [ResourceManager(None, Store().scope("cluster.c."), gauges=False) for _ in "ab"]
        for rm in workers + [main]:
            rm.requests.max = limit
        for i, rm in enumerate(workers):
            rm.attach(seg.block(3), 3, seg.workers, i)
        main.attach(seg.block(3), 3, seg.workers, 0)
        total, held = 0, [0, 0]
        for who, op in ops:
            r = workers[who].requests
            if op == "inc":
                r.inc()
                total, held[who] = total + 1, held[who] + 1
            elif op == "dec" and held[who] > 0:
                r.dec()
                total, held[who] = total - 1, held[who] - 1
            assert r.can_create() == main.requests.can_create() == (total < limit)
            assert r.count == main.requests.count == total
        assert store.value("cluster.c.circuit_breakers.default.rq_open") == int(total >= limit)
        assert store.value("cluster.c.circuit_breakers.default.remaining_rq") == max(
            limit - total, 0
        )
        # Other resources of the block are untouched.
        assert main.connections.count == main.pending_requests.count == main.retries.count == 0
        # A removed cluster's worker detaches: its in-flight releases no longer reach the block
        # (main zeroes the block before it hands it to another key).
        workers[0].detach()
        workers[0].requests.dec()
        assert main.requests.count == total and workers[0].requests.count == held[0] - 1
    finally:
        seg.close()


def test_attach_moves_what_a_private_count_holds():
    rm = ResourceManager(None, Store().scope("c."))
    rm.connections.inc()
    seg = Segment(workers=1, capacity=2)
    rm.attach(seg.block(1), 1, seg.workers, 0)
    assert seg.block(1)[0] == 1 and rm.connections.count == 1 and rm.block == 1
    rm.connections.dec()
    assert rm.connections.count == 0
    seg.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sets(st.sampled_from("abcdefgh"), max_size=6), st.integers(0, 2)), max_size=30
    )
)
def test_block_allocator_never_shares_and_waits_for_every_worker(steps):
    alloc = BlockAllocator(capacity=16)
    applied = 0
    released_at: dict[int, int] = {}  # block → version that dropped it
    for version, (live, lag) in enumerate(steps, start=1):
        applied = max(applied, version - 1 - lag)  # workers trail main by up to `lag` snapshots
        before = dict(alloc.blocks)
        fresh = alloc.update(set(live), version, applied)
        assert set(alloc.blocks) == set(live)  # 16 blocks always suffice for 6 live keys
        assert len(set(alloc.blocks.values())) == len(alloc.blocks)
        assert all(before[k] == b for k, b in alloc.blocks.items() if k in before)
        for _key, block in fresh:
            assert released_at.get(block, 0) <= applied
        for k, b in before.items():
            if k not in live:
                released_at[b] = version


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 700)), max_size=60))
def test_two_handles_on_one_shared_bucket_act_as_one_bucket(steps):
    """Interleaved consumes from two processes' handles (lock included) = one bucket."""
    seg = Segment(workers=2, capacity=2)
    try:
        state = seg.block(1)[:2]
        state[0], state[1] = 3, 0
        lock = (seg.fd, seg.offset(1))
        handles = [TokenBucket(3, 2, 0.5, 0.0, state, lock) for _ in "ab"]
        model = TokenBucket(3, 2, 0.5, 0.0)
        now = 0.0
        for who, gap_ms in steps:
            now += gap_ms / 1000
            assert handles[who].consume(now) == model.consume(now)
            assert handles[1 - who].tokens == model.tokens
    finally:
        seg.close()


@given(st.integers(0, 10), st.integers(0, 10**12), st.integers(0, 10**12), st.integers(1, 10**10))
def test_refill_and_consume_arithmetic(tokens, last, gap, interval):
    max_tokens, per_fill = 10, 3
    ok, t, lf = refill_and_consume(tokens, last, last + gap, max_tokens, per_fill, interval)
    fills = gap // interval
    assert lf == last + fills * interval and lf <= last + gap < lf + interval
    before = min(max_tokens, tokens + fills * per_fill) if fills else tokens
    assert ok == (before > 0) and t == before - int(ok)


def test_find_configs_reaches_http_filters_and_per_route_configs():
    rl_type = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"

    def rl(prefix: str) -> dict:
        return {"@type": rl_type, "stat_prefix": prefix,
                "token_bucket": {"max_tokens": 2, "fill_interval": "1s"}}  # fmt: skip

    routes = [
        {"match": {"prefix": "/a"}, "route": {"cluster": "x"},
         "typed_per_filter_config": {"envoy.filters.http.local_ratelimit": rl("route")}},
    ]  # fmt: skip
    vhosts = [{"name": "v", "domains": ["*"], "routes": routes,
               "typed_per_filter_config": {"envoy.filters.http.local_ratelimit": rl("vhost")}}]  # fmt: skip
    lis = http_listener(vhosts=vhosts, filters=[{"name": "rl", "typed_config": rl("hcm")}])
    pb = parse_dict(json.loads(json.dumps(lis)), listener_pb2.Listener)
    found = find_configs(pb, {})
    assert sorted(c.stat_prefix for c in found.values()) == ["hcm", "route", "vhost"]
