"""A finished stream is freed by reference counting alone, with no work left for the cyclic GC.

The filter manager and its filters point at each other (filters hold their callbacks); the
stream's teardown breaks that cycle. If it did not, every request would leave its stream,
filter manager, filters, headers and router task to the cyclic collector, whose pauses cost
about a fifth of the proxy's CPU in benchmarks/l7_proxy.py.
"""

from __future__ import annotations

import asyncio
import gc

import aiohttp

from miniproxy.envoy.conn_manager import ActiveStream
from miniproxy.envoy.filter_manager import FilterManager
from miniproxy.envoy.filters.fault import FaultFilter
from miniproxy.envoy.filters.router import Router
from tests.miniproxy.envoy.envoy_testlib import (
    bootstrap,
    cluster,
    http_listener,
    running_backends,
    running_proxy,
)

FAULT = {
    "name": "envoy.filters.http.fault",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
        "abort": {"http_status": 503, "percentage": {"numerator": 0}},
    },
}
STREAM_TYPES = (ActiveStream, FilterManager, Router, FaultFilter)


def _live_streams() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, STREAM_TYPES))


def test_completed_streams_are_freed_without_the_cyclic_collector():
    async def main():
        async with running_backends("a") as bes:
            boot = bootstrap(
                [http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "svc"}}], filters=[FAULT])],
                [cluster("svc", bes[0].port)],
            )  # fmt: skip
            async with running_proxy(boot) as px, aiohttp.ClientSession() as s:
                async with s.get(px.url("/warm")) as r:  # open the pooled connections first
                    assert r.status == 200
                gc.collect()
                before = _live_streams()
                gc.disable()
                try:
                    for i in range(20):
                        async with s.get(px.url(f"/r{i}")) as r:
                            assert r.status == 200
                            assert await r.text() == "a"
                    await asyncio.sleep(0.05)  # let the router tasks finish
                    leaked = _live_streams() - before
                finally:
                    gc.enable()
                assert leaked == 0
                assert px.stat("http.ingress_http.downstream_rq_2xx") == 21

    asyncio.run(main())
