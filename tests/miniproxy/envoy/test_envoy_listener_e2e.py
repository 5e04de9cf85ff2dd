"""Listener, codec and admin behaviour over real sockets: malformed and oversize requests,
pipelining, filter chain match, tcp_proxy, RBAC, health checks, STRICT_DNS and the admin API.

Reference: Envoy docs arch_overview/listeners/listener_filters, http/http_connection_management,
upstream/health_checking, operations/admin.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp

from tests.miniproxy.envoy.envoy_testlib import (
    bootstrap,
    cluster,
    http_listener,
    raw_request,
    running_backends,
    running_proxy,
)

RBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"


def _direct():
    return [
        {
            "match": {"prefix": "/"},
            "direct_response": {"status": 200, "body": {"inline_string": "ok"}},
        }
    ]


def test_malformed_request_is_400_oversize_headers_431_and_pipelining_keeps_order():
    async def main():
        boot = bootstrap([http_listener(_direct())], [])
        async with running_proxy(boot) as px:
            port = px.port()
            out = await raw_request(port, b"GARBAGE\r\n\r\n")
            assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"connection: close" in out
            big = b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (61 * 1024) + b"\r\n\r\n"
            out = await raw_request(port, big)
            assert out.startswith(b"HTTP/1.1 431 ")
            assert px.stat("http.ingress_http.downstream_cx_protocol_error") == 2
            three = b"".join(f"GET /{i} HTTP/1.1\r\nhost: x\r\n\r\n".encode() for i in range(3))
            out = await raw_request(
                port, three + b"GET /last HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            )
            assert out.count(b"HTTP/1.1 200 OK") == 4
            chunked = b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            assert (await raw_request(port, chunked)).startswith(b"HTTP/1.1 200 OK")

    asyncio.run(main())


def test_a_slow_client_does_not_stall_other_connections():
    async def main():
        boot = bootstrap([http_listener(_direct())], [])
        async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
            reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
            writer.write(b"GET / HTTP/1.1\r\nho")  # and never finishes
            await writer.drain()
            for _ in range(5):
                async with s.get(px.url("/"), timeout=aiohttp.ClientTimeout(total=2)) as r:
                    assert r.status == 200
            writer.close()

    asyncio.run(main())


def test_rbac_denies_by_header_and_allows_by_path():
    async def main():
        rules = {"action": "DENY", "policies": {"no-guests": {"permissions": [{"any": True}],
                 "principals": [{"header": {"name": "x-role", "string_match": {"exact": "guest"}}}]}}}  # fmt: skip
        rbac = {"@type": RBAC, "rules": rules}
        boot = bootstrap(
            [
                http_listener(
                    _direct(), filters=[{"name": "envoy.filters.http.rbac", "typed_config": rbac}]
                )
            ],
            [],
        )
        async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
            async with s.get(px.url("/"), headers={"x-role": "guest"}) as r:
                assert (r.status, await r.text()) == (403, "RBAC: access denied")
            async with s.get(px.url("/"), headers={"x-role": "admin"}) as r:
                assert r.status == 200
            assert px.stat("http.ingress_http.rbac.denied") == 1
            assert px.stat("http.ingress_http.rbac.allowed") == 1

    asyncio.run(main())


def test_tcp_proxy_pipes_bytes_and_filter_chain_match_by_source_prefix():
    async def main():
        async with running_backends("tcp-be") as (be,):
            tcp_chain = {"filter_chain_match": {"source_prefix_ranges": [{"address_prefix": "127.0.0.0", "prefix_len": 8}]},
                         "filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {"@type": TCP, "stat_prefix": "tcp", "cluster": "svc"}}]}  # fmt: skip
            never = {"filter_chain_match": {"source_prefix_ranges": [{"address_prefix": "10.0.0.0", "prefix_len": 8}]},
                     "filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": {"@type": TCP, "stat_prefix": "never", "cluster": "none"}}]}  # fmt: skip
            lis = {
                "name": "tcp",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [never, tcp_chain],
            }
            boot = bootstrap([lis], [cluster("svc", be.port)])
            async with running_proxy(boot) as px:
                out = await raw_request(
                    px.port("tcp"), b"GET /t HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
                )
                assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b"tcp-be")
                assert b"server: envoy" not in out.lower()  # bytes passed through untouched
                assert px.stat("tcp.tcp.downstream_cx_total") == 1
                assert px.stat("cluster.svc.upstream_cx_total") == 1

    asyncio.run(main())


def test_active_health_check_marks_a_failing_host_and_strict_dns_resolves_localhost():
    async def main():
        async with running_backends("up", "down") as (up, down):
            down.status = 503
            hc = [
                {
                    "timeout": "0.5s",
                    "interval": "0.1s",
                    "healthy_threshold": 1,
                    "unhealthy_threshold": 1,
                    "http_health_check": {"path": "/healthz"},
                }
            ]
            dns = {"name": "dns", "type": "STRICT_DNS", "connect_timeout": "0.5s",
                   "load_assignment": {"cluster_name": "dns", "endpoints": [{"lb_endpoints": [
                       {"endpoint": {"address": {"socket_address": {"address": "localhost", "port_value": up.port}}}}]}]}}  # fmt: skip
            routes = [
                {"match": {"prefix": "/dns"}, "route": {"cluster": "dns"}},
                {"match": {"prefix": "/"}, "route": {"cluster": "svc"}},
            ]
            boot = bootstrap(
                [http_listener(routes)], [cluster("svc", up.port, down.port, health_checks=hc), dns]
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                for _ in range(50):
                    if (
                        px.stat("cluster.svc.membership_healthy") == 1
                        and px.stat("cluster.svc.health_check.failure") > 0
                    ):
                        break
                    await asyncio.sleep(0.05)
                before = down.hits
                for _ in range(6):
                    async with s.get(px.url("/")) as r:
                        assert await r.text() == "up"
                assert down.hits - before <= 1  # only health checks reach it, not traffic
                async with s.get(px.url("/dns")) as r:
                    assert await r.text() == "up"
                assert px.server.cluster_manager.get("dns").hosts[0].hostname == "localhost"

    asyncio.run(main())


def test_admin_endpoints_speak_envoys_formats():
    async def main():
        async with running_backends("be") as (be,):
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}])],
                [cluster("svc", be.port)],
                node={"id": "n1", "cluster": "c1"},
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                async with s.get(px.url("/")) as r:
                    await r.read()
                async with s.get(px.admin_url("/ready")) as r:
                    assert (r.status, await r.text()) == (200, "LIVE\n")
                async with s.get(px.admin_url("/config_dump")) as r:
                    dump = json.loads(await r.text())
                types = [c["@type"] for c in dump["configs"]]
                assert types == [
                    "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
                    "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
                    "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
                    "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
                ]
                assert dump["configs"][1]["static_clusters"][0]["cluster"]["name"] == "svc"
                async with s.get(px.admin_url("/clusters?format=json")) as r:
                    cj = json.loads(await r.text())
                host = cj["cluster_statuses"][0]["host_statuses"][0]
                assert host["address"]["socket_address"]["port_value"] == be.port
                assert {"name": "rq_total", "value": "1"} in host["stats"]
                async with s.get(px.admin_url("/server_info")) as r:
                    info = json.loads(await r.text())
                assert info["state"] == "LIVE" and info["node"]["id"] == "n1"
                async with s.get(
                    px.admin_url("/stats?format=json&filter=^cluster\\.svc\\.upstream_rq_total$")
                ) as r:
                    assert json.loads(await r.text()) == {
                        "stats": [{"name": "cluster.svc.upstream_rq_total", "value": 1}]
                    }

    asyncio.run(main())


def test_cors_answers_preflights_and_decorates_responses():
    async def main():
        async with running_backends("api") as (be,):
            policy = {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
                      "allow_origin_string_match": [{"suffix": ".example.com"}], "allow_methods": "GET, PUT",
                      "allow_headers": "content-type", "max_age": "600", "expose_headers": "x-backend",
                      "allow_credentials": True}  # fmt: skip
            vh = {"name": "api", "domains": ["*"], "typed_per_filter_config": {"envoy.filters.http.cors": policy},
                  "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "api"}}]}  # fmt: skip
            cors = {
                "name": "envoy.filters.http.cors",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
                },
            }
            boot = bootstrap(
                [http_listener(vhosts=[vh], filters=[cors])], [cluster("api", be.port)]
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                pre = {"origin": "https://app.example.com", "access-control-request-method": "PUT"}
                async with s.options(px.url("/items"), headers=pre) as r:
                    assert r.status == 200
                    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
                    assert r.headers["access-control-allow-methods"] == "GET, PUT"
                    assert r.headers["access-control-max-age"] == "600"
                assert be.hits == 0  # the preflight never reached the backend
                async with s.get(
                    px.url("/items"), headers={"origin": "https://app.example.com"}
                ) as r:
                    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
                    assert r.headers["access-control-allow-credentials"] == "true"
                    assert r.headers["access-control-expose-headers"] == "x-backend"
                async with s.get(px.url("/items"), headers={"origin": "https://evil.org"}) as r:
                    assert "access-control-allow-origin" not in r.headers
                assert px.stat("http.ingress_http.cors.origin_valid") == 2
                assert px.stat("http.ingress_http.cors.origin_invalid") == 1

    asyncio.run(main())


def test_idle_connections_are_closed_after_idle_timeout():
    async def main():
        lis = http_listener(_direct(), common_http_protocol_options={"idle_timeout": "0.2s"})
        async with running_proxy(bootstrap([lis], [])) as px:
            reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
            writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            await writer.drain()
            first = await asyncio.wait_for(reader.readuntil(b"ok"), 5)
            assert first.startswith(b"HTTP/1.1 200 OK")
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the proxy
            writer.close()
            assert px.stat("http.ingress_http.downstream_cx_idle_timeout") == 1

    asyncio.run(main())
