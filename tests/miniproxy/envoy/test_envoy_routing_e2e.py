"""Routing over real sockets: round robin, header routing, weighted split, rewrites, stats.

Reference: Envoy docs, "HTTP routing" (intro/arch_overview/http/http_routing) and
"Round robin" / "Weighted round robin" (load_balancers.rst).
"""

from __future__ import annotations

import asyncio
import collections

import aiohttp

from tests.miniproxy.envoy.envoy_testlib import (
    bootstrap,
    cluster,
    http_listener,
    running_backends,
    running_proxy,
)


def test_round_robin_spreads_requests_evenly_and_stats_count_them():
    async def main():
        async with running_backends("a", "b", "c") as bes:
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}])],
                [cluster("svc", *(b.port for b in bes))],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                seen = collections.Counter()
                for _ in range(30):
                    async with s.get(px.url("/x")) as r:
                        assert r.status == 200
                        assert r.headers["server"] == "envoy"
                        assert "x-envoy-upstream-service-time" in r.headers
                        seen[await r.text()] += 1
                assert seen == {"a": 10, "b": 10, "c": 10}
                assert px.stat("cluster.svc.upstream_rq_total") == 30
                assert px.stat("cluster.svc.upstream_rq_200") == 30
                assert px.stat("cluster.svc.upstream_rq_2xx") == 30
                assert px.stat("http.ingress_http.downstream_rq_total") == 30
                assert px.stat("http.ingress_http.downstream_rq_2xx") == 30
                assert px.stat("listener.127.0.0.1_0.downstream_cx_total") >= 1
                async with s.get(px.admin_url("/stats")) as r:
                    text = await r.text()
                assert "cluster.svc.upstream_rq_total: 30\n" in text
                async with s.get(px.admin_url("/stats/prometheus")) as r:
                    prom = await r.text()
                assert 'envoy_cluster_upstream_rq_total{envoy_cluster_name="svc"} 30' in prom
                assert (
                    'envoy_cluster_upstream_rq{envoy_cluster_name="svc",envoy_response_code="200"} 30'
                    in prom
                )

    asyncio.run(main())


def test_header_routing_sends_jason_to_v2_and_everyone_else_to_v1():
    async def main():
        async with running_backends("v1", "v2") as (v1, v2):
            routes = [
                {
                    "match": {
                        "prefix": "/",
                        "headers": [{"name": "end-user", "string_match": {"exact": "jason"}}],
                    },
                    "route": {"cluster": "reviews-v2"},
                },
                {"match": {"prefix": "/"}, "route": {"cluster": "reviews-v1"}},
            ]
            boot = bootstrap(
                [http_listener(routes)],
                [cluster("reviews-v1", v1.port), cluster("reviews-v2", v2.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                async with s.get(px.url("/reviews"), headers={"end-user": "jason"}) as r:
                    assert await r.text() == "v2"
                async with s.get(px.url("/reviews"), headers={"end-user": "kim"}) as r:
                    assert await r.text() == "v1"
                async with s.get(px.url("/reviews")) as r:
                    assert await r.text() == "v1"

    asyncio.run(main())


def test_weighted_clusters_split_90_10_within_statistical_bounds():
    async def main():
        async with running_backends("v1", "v3") as (v1, v3):
            wc = {"clusters": [{"name": "v1", "weight": 90}, {"name": "v3", "weight": 10}]}
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": {"weighted_clusters": wc}}])],
                [cluster("v1", v1.port), cluster("v3", v3.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                n = 200
                for _ in range(n):
                    async with s.get(px.url("/")) as r:
                        await r.read()
                # Binomial(200, 0.1): mean 20, sd 4.2; about ±4 sd.
                assert 3 <= v3.hits <= 38, v3.hits
                assert v1.hits + v3.hits == n

    asyncio.run(main())


def test_domains_prefix_rewrite_redirect_direct_response_and_header_mutation():
    async def main():
        async with running_backends("api") as (api,):
            vhosts = [
                {"name": "api", "domains": ["api.example.com", "*.api.example.com"],
                 "request_headers_to_add": [{"header": {"key": "x-vhost", "value": "api"}}],
                 "response_headers_to_add": [{"header": {"key": "x-served-by", "value": "mini"}}],
                 "routes": [{"match": {"prefix": "/v1/"}, "route": {"cluster": "api", "prefix_rewrite": "/internal/"},
                             "request_headers_to_remove": ["x-secret"]},
                            {"match": {"path": "/old"}, "redirect": {"path_redirect": "/new", "response_code": "FOUND"}},
                            {"match": {"safe_regex": {"regex": "/health/[0-9]+"}}, "direct_response": {"status": 204}},
                            {"match": {"prefix": "/q", "query_parameters": [{"name": "debug", "present_match": True}]},
                             "direct_response": {"status": 200, "body": {"inline_string": "debug"}}}]},
                {"name": "default", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 418}}]},
            ]  # fmt: skip
            boot = bootstrap([http_listener(vhosts=vhosts)], [cluster("api", api.port)])
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                hdrs = {"host": "api.example.com", "x-secret": "s"}
                async with s.get(px.url("/v1/users?id=1"), headers=hdrs) as r:
                    assert r.status == 200
                    assert r.headers["x-served-by"] == "mini"
                assert api.last_path == "/internal/users?id=1"
                assert api.last_headers["x-vhost"] == "api"
                assert api.last_headers["x-envoy-original-path"] == "/v1/users?id=1"
                assert "x-secret" not in {k.lower() for k in api.last_headers}
                assert "x-request-id" in api.last_headers
                async with s.get(px.url("/v1/x"), headers={"host": "eu.api.example.com"}) as r:
                    assert r.status == 200
                async with s.get(
                    px.url("/old?a=1"), headers={"host": "api.example.com"}, allow_redirects=False
                ) as r:
                    assert r.status == 302
                    assert r.headers["location"] == "http://api.example.com/new?a=1"
                async with s.get(px.url("/health/12"), headers={"host": "api.example.com"}) as r:
                    assert r.status == 204
                async with s.get(px.url("/q?debug"), headers={"host": "api.example.com"}) as r:
                    assert (r.status, await r.text()) == (200, "debug")
                async with s.get(px.url("/q"), headers={"host": "api.example.com"}) as r:
                    assert r.status == 404
                assert px.stat("http.ingress_http.no_route") == 1
                async with s.get(px.url("/v1/"), headers={"host": "other.com"}) as r:
                    assert r.status == 418

    asyncio.run(main())


def test_least_request_prefers_the_idle_host():
    async def main():
        async with running_backends("slow", "fast") as (slow, fast):
            slow.delay = 1.0
            boot = bootstrap([http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}])],
                             [cluster("svc", slow.port, fast.port, lb_policy="LEAST_REQUEST")])  # fmt: skip
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:

                async def one():
                    async with s.get(px.url("/")) as r:
                        return await r.text()

                tasks = []
                for _ in range(40):
                    tasks.append(asyncio.ensure_future(one()))
                    await asyncio.sleep(0.01)
                results = await asyncio.gather(*tasks)
                # P2C over two hosts: the busy slow host wins only when both samples pick it
                # (1/4 of picks), so about 30 of 40 go to the fast one; round robin would give 20.
                assert results.count("fast") >= 26, results.count("fast")

    asyncio.run(main())


def test_ring_hash_keeps_a_user_on_one_host():
    async def main():
        async with running_backends("a", "b", "c") as bes:
            route = {"cluster": "svc", "hash_policy": [{"header": {"header_name": "x-user"}}]}
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": route}])],
                [cluster("svc", *(b.port for b in bes), lb_policy="RING_HASH")],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                owners = {}
                for user in ("alice", "bob", "carol", "dave"):
                    got = set()
                    for _ in range(5):
                        async with s.get(px.url("/"), headers={"x-user": user}) as r:
                            got.add(await r.text())
                    assert len(got) == 1
                    owners[user] = got.pop()
                lb = px.server.cluster_manager.get("svc").lb
                from miniproxy.envoy.hash_lb import LbContext
                from miniproxy.envoy.xxhash64 import xxhash64

                by_port = {b.port: b.name for b in bes}
                for user, name in owners.items():
                    assert by_port[lb.choose_host(LbContext(xxhash64(user))).port] == name

    asyncio.run(main())


def test_request_bodies_reach_the_upstream_through_a_filter_that_pauses():
    async def main():
        async with running_backends("api") as (be,):
            delay = {"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
                     "delay": {"fixed_delay": "0.05s", "percentage": {"numerator": 100}}}  # fmt: skip
            filters = [{"name": "envoy.filters.http.fault", "typed_config": delay}]
            boot = bootstrap(
                [
                    http_listener(
                        [{"match": {"prefix": "/"}, "route": {"cluster": "api"}}], filters=filters
                    )
                ],
                [cluster("api", be.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                async with s.post(px.url("/items"), data=b"x" * 5000) as r:
                    assert (r.status, await r.text()) == (200, "api")
                assert be.last_body == b"x" * 5000
                async with s.put(px.url("/items"), json={"a": 1}) as r:
                    assert r.status == 200
                assert be.last_body == b'{"a": 1}'
                assert px.stat("http.ingress_http.fault.delays_injected") == 2

    asyncio.run(main())
