"""Circuit breakers and local rate limits shared by worker processes, over real sockets.

One proxy with `concurrency: 2` runs both phases (starting worker interpreters is the slow
part): a cluster with `max_requests: 1` under concurrent slow requests, then a route whose
local rate limit holds 5 tokens and never refills during the test. Each request uses a fresh
connection, so the kernel spreads them over both workers' SO_REUSEPORT sockets; the workers'
own stats show that both served some. As in Envoy, where the counts and the bucket are shared
by all worker threads, the limits hold for the whole server, not per worker.

Reference: Envoy docs intro/arch_overview/upstream/circuit_breaking ("circuit breaking
limits are ... shared across all workers"), configuration/http/http_filters/
local_rate_limit_filter (the token bucket is shared by all workers), and
intro/arch_overview/intro/threading_model.
"""

from __future__ import annotations

import asyncio
import collections

import aiohttp
from envoy.config.cluster.v3 import cluster_pb2

from miniproxy.envoy.config import parse_dict
from tests.miniproxy.envoy.envoy_testlib import (
    bootstrap,
    cluster,
    http_listener,
    running_backends,
    running_proxy,
)
from tests.miniproxy.envoy.test_envoy_worker_processes import workers_caught_up

RATELIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
RL_FILTER = "envoy.filters.http.local_ratelimit"
FULL = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
ROUTE_RL = {"@type": RATELIMIT, "stat_prefix": "route_rl", "filter_enabled": FULL,
            "filter_enforced": FULL,
            "token_bucket": {"max_tokens": 5, "tokens_per_fill": 5, "fill_interval": "3600s"}}  # fmt: skip
# At the listener the filter is present but disabled (filter_enabled unset = 0%): only the
# route's typed_per_filter_config turns it on, as in Envoy's per-route rate limit example.
LISTENER_RL = {"@type": RATELIMIT, "stat_prefix": "listener_rl",
               "token_bucket": {"max_tokens": 1000, "fill_interval": "1s"}}  # fmt: skip
ROUTES = [
    {"match": {"prefix": "/slow"}, "route": {"cluster": "tiny"}},
    {"match": {"prefix": "/limited"}, "route": {"cluster": "fast"},
     "typed_per_filter_config": {RL_FILTER: ROUTE_RL}},
]  # fmt: skip
N = 16


async def per_worker(px, name: str) -> list[int]:
    """One counter as each worker process's own store holds it."""
    replies = await asyncio.gather(*(w.stats() for w in px.server.workers))
    return [r.counters.get(name, 0) for r in replies]


async def fresh_get(s: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    async with s.get(url) as r:
        await r.read()
        return r.status, dict(r.headers)


async def wait_stat(px, name: str, want: int) -> None:
    for _ in range(300):
        if px.stat(name) == want:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} = {px.stat(name)}, want {want}")


async def breaker_phase(px, s: aiohttp.ClientSession) -> None:
    rq = "http.ingress_http.downstream_rq_total"
    before = await per_worker(px, rq)
    calls = [asyncio.ensure_future(fresh_get(s, px.url("/slow"))) for _ in range(N)]
    # Main reads the shared counts itself: the breaker is open while the one request runs.
    await wait_stat(px, "cluster.tiny.circuit_breakers.default.rq_open", 1)
    assert px.stat("cluster.tiny.circuit_breakers.default.remaining_rq") == 0
    results = await asyncio.gather(*calls)
    codes = collections.Counter(code for code, _ in results)
    assert codes == {200: 1, 503: N - 1}, codes
    assert all(h.get("x-envoy-overloaded") == "true" for code, h in results if code == 503)
    after = await per_worker(px, rq)
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    assert px.stat("cluster.tiny.circuit_breakers.default.rq_open") == 0
    assert px.stat("cluster.tiny.circuit_breakers.default.remaining_rq") == 1
    merged = await px.server.merged_stats()
    assert merged[0].value("cluster.tiny.upstream_rq_pending_overflow") == N - 1


async def ratelimit_phase(px, s: aiohttp.ClientSession) -> None:
    results = await asyncio.gather(*(fresh_get(s, px.url("/limited")) for _ in range(N)))
    codes = collections.Counter(code for code, _ in results)
    assert codes == {200: 5, 429: N - 5}, codes
    assert all(h.get("x-envoy-ratelimited") == "true" for code, h in results if code == 429)
    enabled = await per_worker(px, "route_rl.http_local_rate_limit.enabled")
    assert sum(enabled) == N and all(enabled), enabled  # both workers took from the bucket
    merged = (await px.server.merged_stats())[0]
    assert merged.value("route_rl.http_local_rate_limit.ok") == 5
    assert merged.value("route_rl.http_local_rate_limit.rate_limited") == N - 5
    assert [(await fresh_get(s, px.url("/slow")))[0] for _ in range(3)] == [200] * 3


async def lifecycle_phase(px, s: aiohttp.ClientSession, port: int) -> None:
    """An updated cluster keeps its block and takes the new threshold; a removed cluster's
    block is reused, zeroed, only after every worker applied the snapshot that dropped it."""
    srv = px.server
    blocks = srv.allocator.blocks
    tiny_block = blocks["cluster/tiny"]
    cb2 = {"thresholds": [{"max_requests": 2}]}
    srv.cluster_manager.add_or_update_cluster(
        parse_dict(cluster("tiny", port, circuit_breakers=cb2), cluster_pb2.Cluster)
    )
    extra = parse_dict(cluster("extra", port), cluster_pb2.Cluster)
    srv.cluster_manager.add_or_update_cluster(extra, added_via_api=True)
    await workers_caught_up(px)
    assert blocks["cluster/tiny"] == tiny_block
    extra_block = blocks["cluster/extra"]
    results = await asyncio.gather(*(fresh_get(s, px.url("/slow")) for _ in range(N)))
    assert collections.Counter(code for code, _ in results) == {200: 2, 503: N - 2}
    srv.cluster_manager.remove_cluster("extra")
    await workers_caught_up(px)
    assert "cluster/extra" not in blocks
    srv.segment.block(extra_block)[0] = 7  # what a straggling request of "extra" left behind
    srv.cluster_manager.add_or_update_cluster(
        parse_dict(cluster("extra2", port), cluster_pb2.Cluster), added_via_api=True
    )
    await workers_caught_up(px)
    assert blocks["cluster/extra2"] == extra_block
    assert srv.cluster_manager.get("extra2").resources.connections.count == 0


def test_breakers_and_token_bucket_hold_across_two_worker_processes():
    async def main():
        async with running_backends("slow", "fast") as (slow, fast):
            slow.delay = 2.0
            cb = {"thresholds": [{"max_requests": 1}]}
            boot = bootstrap(
                [http_listener(ROUTES, filters=[{"name": RL_FILTER, "typed_config": LISTENER_RL}])],
                [cluster("tiny", slow.port, circuit_breakers=cb), cluster("fast", fast.port)],
            )
            conn = aiohttp.TCPConnector(force_close=True, limit=0)
            async with (
                running_proxy(boot, concurrency=2) as px,
                aiohttp.ClientSession(connector=conn) as s,
            ):
                assert px.server.state == "LIVE" and len(px.server.workers) == 2
                await breaker_phase(px, s)
                slow.delay = 0.0
                await ratelimit_phase(px, s)
                slow.delay = 1.0
                await lifecycle_phase(px, s, slow.port)

    asyncio.run(main())
