"""Resilience over real sockets: retries, timeouts, outlier ejection, circuit breakers, faults,
local rate limiting, and the response flags they leave in the access log.

Reference: Envoy docs arch_overview/http/http_connection_management (retry plugin config),
upstream/outlier, upstream/circuit_breaking, http_filters/fault_filter,
http_filters/local_rate_limit_filter, access_log/usage (response flags).
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

FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
RATELIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"


async def get(s: aiohttp.ClientSession, url: str, **kw) -> tuple[int, str, dict]:
    async with s.get(url, **kw) as r:
        return r.status, await r.text(), dict(r.headers)


def test_retry_on_5xx_turns_a_flaky_backend_into_200s():
    async def main():
        async with running_backends("flaky") as (be,):
            route = {
                "cluster": "svc",
                "retry_policy": {
                    "retry_on": "5xx",
                    "num_retries": 3,
                    "retry_back_off": {"base_interval": "0.005s"},
                },
            }
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": route}])],
                [cluster("svc", be.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                be.fail_next = 2
                assert (await get(s, px.url("/")))[:2] == (200, "flaky")
                assert be.hits == 3
                assert px.stat("cluster.svc.upstream_rq_retry") == 2
                assert px.stat("cluster.svc.upstream_rq_retry_success") == 1
                assert px.stat("cluster.svc.upstream_rq_503") == 2
                be.fail_next = 10
                status, _, _ = await get(s, px.url("/"))
                assert status == 503  # 1 try + 3 retries, then the last 503 goes to the client
                assert px.stat("cluster.svc.upstream_rq_retry_limit_exceeded") == 1

    asyncio.run(main())


def test_connect_failure_is_503_uf_and_retry_moves_to_a_live_host(tmp_path):
    async def main():
        async with running_backends("live") as (be,):
            import socket

            with socket.socket() as sk:
                sk.bind(("127.0.0.1", 0))
                dead = sk.getsockname()[1]
            log = tmp_path / "access.log"
            al = [
                {
                    "name": "envoy.access_loggers.file",
                    "typed_config": {"@type": FILE_LOG, "path": str(log)},
                }
            ]
            routes = [
                {"match": {"prefix": "/dead"}, "route": {"cluster": "dead"}},
                {
                    "match": {"prefix": "/"},
                    "route": {
                        "cluster": "mixed",
                        "retry_policy": {"retry_on": "connect-failure", "num_retries": 2},
                    },
                },
            ]
            boot = bootstrap(
                [http_listener(routes, access_log=al)],
                [cluster("dead", dead), cluster("mixed", dead, be.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                status, body, _ = await get(s, px.url("/dead"))
                assert status == 503
                assert (
                    body
                    == "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
                )
                assert px.stat("cluster.dead.upstream_cx_connect_fail") == 1
                for _ in range(4):
                    assert (await get(s, px.url("/")))[:2] == (200, "live")
            lines = log.read_text().splitlines()
            assert '"GET /dead HTTP/1.1" 503 UF ' in lines[0]
            assert all('" 200 - ' in line for line in lines[1:])

    asyncio.run(main())


def test_route_timeout_answers_504_ut():
    async def main():
        async with running_backends("slow") as (be,):
            be.delay = 0.6
            boot = bootstrap(
                [
                    http_listener(
                        [{"match": {"prefix": "/"}, "route": {"cluster": "svc", "timeout": "0.2s"}}]
                    )
                ],
                [cluster("svc", be.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                status, body, _ = await get(s, px.url("/"))
                assert (status, body) == (504, "upstream request timeout")
                assert px.stat("cluster.svc.upstream_rq_timeout") == 1

    asyncio.run(main())


def test_outlier_detection_ejects_after_consecutive_5xx_and_returns_the_host():
    async def main():
        async with running_backends("bad", "good") as (bad, good):
            bad.status = 500
            od = {
                "consecutive_5xx": 3,
                "interval": "0.1s",
                "base_ejection_time": "0.5s",
                "max_ejection_percent": 50,
            }
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}])],
                [cluster("svc", bad.port, good.port, outlier_detection=od)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                for _ in range(6):
                    await get(s, px.url("/"))
                assert bad.hits == 3
                assert px.stat("cluster.svc.outlier_detection.ejections_active") == 1
                assert (
                    px.stat("cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx") == 1
                )
                hits = bad.hits
                for _ in range(10):
                    assert (await get(s, px.url("/")))[1] == "good"
                assert bad.hits == hits
                async with s.get(px.admin_url("/clusters")) as r:
                    assert (
                        f"svc::127.0.0.1:{bad.port}::health_flags::/failed_outlier_check"
                        in await r.text()
                    )
                await asyncio.sleep(0.8)  # base_ejection_time × 1 ejection, plus an interval tick
                assert px.stat("cluster.svc.outlier_detection.ejections_active") == 0
                names = collections.Counter([(await get(s, px.url("/")))[1] for _ in range(4)])
                assert names["bad"] >= 1

    asyncio.run(main())


def test_circuit_breaker_max_requests_answers_503_with_x_envoy_overloaded():
    async def main():
        async with running_backends("slow") as (be,):
            be.delay = 0.5
            cb = {
                "thresholds": [
                    {"max_requests": 2, "max_pending_requests": 10, "max_connections": 2}
                ]
            }
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}])],
                [cluster("svc", be.port, circuit_breakers=cb)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                results = await asyncio.gather(*(get(s, px.url("/")) for _ in range(6)))
                ok = [r for r in results if r[0] == 200]
                over = [r for r in results if r[0] == 503]
                assert len(ok) == 2 and len(over) == 4
                assert all(r[2].get("x-envoy-overloaded") == "true" for r in over)
                assert px.stat("cluster.svc.upstream_rq_pending_overflow") == 4
                assert px.stat("cluster.svc.circuit_breakers.default.rq_open") == 0

    asyncio.run(main())


def test_fault_abort_and_delay_percentages_and_header_control():
    async def main():
        async with running_backends("ratings") as (be,):
            fault = {"@type": FAULT, "abort": {"http_status": 500, "percentage": {"numerator": 50, "denominator": "HUNDRED"}},
                     "headers": [{"name": "end-user", "string_match": {"exact": "jason"}}]}  # fmt: skip
            delay = {
                "@type": FAULT,
                "delay": {"fixed_delay": "0.3s", "percentage": {"numerator": 100}},
            }
            routes = [
                {
                    "match": {"prefix": "/delayed"},
                    "route": {"cluster": "svc"},
                    "typed_per_filter_config": {"envoy.filters.http.fault": delay},
                },
                {"match": {"prefix": "/"}, "route": {"cluster": "svc"}},
            ]
            filters = [{"name": "envoy.filters.http.fault", "typed_config": fault}]
            boot = bootstrap([http_listener(routes, filters=filters)], [cluster("svc", be.port)])
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                codes = collections.Counter(
                    [
                        (await get(s, px.url("/"), headers={"end-user": "jason"}))[0]
                        for _ in range(200)
                    ]
                )
                assert 60 <= codes[500] <= 140, codes  # 50% of 200, ±5.6 sd
                assert codes[500] + codes[200] == 200
                assert px.stat("http.ingress_http.fault.aborts_injected") == codes[500]
                assert [(await get(s, px.url("/")))[0] for _ in range(20)] == [
                    200
                ] * 20  # not jason
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                status, body, _ = await get(s, px.url("/delayed"))
                assert status == 200 and loop.time() - t0 >= 0.3
                assert px.stat("http.ingress_http.fault.delays_injected") == 1

    asyncio.run(main())


def test_local_ratelimit_token_bucket_429s(tmp_path):
    async def main():
        async with running_backends("svc") as (be,):
            rl = {"@type": RATELIMIT, "stat_prefix": "http_local_rate_limiter",
                  "token_bucket": {"max_tokens": 5, "tokens_per_fill": 5, "fill_interval": "60s"},
                  "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
                  "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}}  # fmt: skip
            log = tmp_path / "a.log"
            al = [
                {
                    "name": "envoy.access_loggers.file",
                    "typed_config": {"@type": FILE_LOG, "path": str(log)},
                }
            ]
            boot = bootstrap(
                [
                    http_listener(
                        [{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}],
                        filters=[
                            {"name": "envoy.filters.http.local_ratelimit", "typed_config": rl}
                        ],
                        access_log=al,
                    )
                ],
                [cluster("svc", be.port)],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                results = [await get(s, px.url("/")) for _ in range(8)]
                assert [r[0] for r in results] == [200] * 5 + [429] * 3
                assert results[-1][1] == "local_rate_limited"
                assert results[-1][2]["x-envoy-ratelimited"] == "true"
                assert px.stat("http_local_rate_limiter.http_local_rate_limit.rate_limited") == 3
                assert px.stat("http_local_rate_limiter.http_local_rate_limit.ok") == 5
            assert " 429 RL " in log.read_text().splitlines()[-1]

    asyncio.run(main())


def test_access_log_carries_envoys_response_flags(tmp_path):
    async def main():
        async with running_backends("slow", "failing") as (slow, failing):
            slow.delay = 0.4
            failing.status = 503
            log = tmp_path / "flags.log"
            fmt = "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:PATH)%\n"
            al = [
                {
                    "name": "envoy.access_loggers.file",
                    "typed_config": {
                        "@type": FILE_LOG,
                        "path": str(log),
                        "log_format": {"text_format_source": {"inline_string": fmt}},
                    },
                }
            ]
            abort = {
                "@type": FAULT,
                "abort": {"http_status": 503, "percentage": {"numerator": 100}},
            }
            delay = {
                "@type": FAULT,
                "delay": {"fixed_delay": "0.01s", "percentage": {"numerator": 100}},
            }
            routes = [
                {"match": {"path": "/ut"}, "route": {"cluster": "slow", "timeout": "0.1s"}},
                {
                    "match": {"path": "/urx"},
                    "route": {
                        "cluster": "failing",
                        "retry_policy": {
                            "retry_on": "5xx",
                            "num_retries": 1,
                            "retry_back_off": {"base_interval": "0.001s"},
                        },
                    },
                },
                {
                    "match": {"path": "/fi"},
                    "route": {"cluster": "slow"},
                    "typed_per_filter_config": {"envoy.filters.http.fault": abort},
                },
                {
                    "match": {"path": "/di"},
                    "direct_response": {"status": 200},
                    "typed_per_filter_config": {"envoy.filters.http.fault": delay},
                },
                {"match": {"path": "/uo"}, "route": {"cluster": "tiny"}},
            ]
            passthrough = {"@type": FAULT}
            filters = [{"name": "envoy.filters.http.fault", "typed_config": passthrough}]
            tiny = cluster(
                "tiny", slow.port, circuit_breakers={"thresholds": [{"max_requests": 1}]}
            )
            boot = bootstrap(
                [http_listener(routes, filters=filters, access_log=al)],
                [cluster("slow", slow.port), cluster("failing", failing.port), tiny],
            )
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                for path in ("/nr", "/ut", "/urx", "/fi", "/di"):
                    await get(s, px.url(path))
                await asyncio.gather(get(s, px.url("/uo")), get(s, px.url("/uo")))
                await asyncio.sleep(0.5)  # let the /ut backend handler finish before cleanup
            lines = set(log.read_text().splitlines())
            for expected in (
                "404 NR /nr",
                "504 UT /ut",
                "503 URX /urx",
                "503 FI /fi",
                "200 DI /di",
                "503 UO /uo",
                "200 - /uo",
            ):
                assert expected in lines, (expected, lines)

    asyncio.run(main())
