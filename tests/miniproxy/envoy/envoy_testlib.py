"""Shared helpers for miniproxy.envoy tests: aiohttp backends, bootstrap builders, a live proxy.

Everything runs on real loopback sockets bound to port 0. Backends are aiohttp apps that
answer with their own name, a chosen status, a delay, or a configurable number of failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random

from aiohttp import web
from envoy.config.bootstrap.v3 import bootstrap_pb2

from miniproxy.envoy.config import parse_dict, validate_bootstrap
from miniproxy.envoy.server import Server

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}


class Backend:
    """An aiohttp upstream on 127.0.0.1:<port 0> that counts what it serves."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        self.fail_next = 0  # answer 503 to this many requests first
        self.status = 200
        self.delay = 0.0
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.last_headers: dict = {}
        self.last_path = ""
        self.last_body = b""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        self.last_headers = {k.lower(): v for k, v in request.headers.items()}
        self.last_path = request.path_qs
        self.last_body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503, text=f"{self.name} failing\n")
        if request.path == "/headers":
            return web.json_response(self.last_headers)
        return web.Response(status=self.status, text=self.name, headers={"x-backend": self.name})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.runner.cleanup()


def endpoints(*ports: int, weights: list[int] | None = None) -> dict:
    eps = []
    for i, p in enumerate(ports):
        ep = {
            "endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": p}}}
        }
        if weights:
            ep["load_balancing_weight"] = weights[i]
        eps.append(ep)
    return {"endpoints": [{"lb_endpoints": eps}]}


def cluster(name: str, *ports: int, **extra) -> dict:
    weights = extra.pop("weights", None)
    c = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "0.5s",
        "load_assignment": {"cluster_name": name, **endpoints(*ports, weights=weights)},
    }
    c.update(extra)
    return c


def http_listener(
    routes: list | None = None,
    vhosts: list | None = None,
    filters: list | None = None,
    name: str = "ingress",
    **hcm_extra,
) -> dict:
    vhosts = vhosts or [{"name": "all", "domains": ["*"], "routes": routes or []}]
    hcm = {"@type": HCM, "stat_prefix": "ingress_http", "route_config": {"name": "local_route", "virtual_hosts": vhosts},
           "http_filters": (filters or []) + [ROUTER]}  # fmt: skip
    hcm.update(hcm_extra)
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                ]
            }
        ],
    }


def bootstrap(
    listeners: list, clusters: list, admin: bool = True, **extra
) -> bootstrap_pb2.Bootstrap:
    d = {"static_resources": {"listeners": listeners, "clusters": clusters}}
    if admin:
        d["admin"] = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}
    d.update(extra)
    boot = parse_dict(json.loads(json.dumps(d)), bootstrap_pb2.Bootstrap)
    validate_bootstrap(boot)
    return boot


class Proxy:
    """A started Server plus the bound ports of its listeners and admin."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def port(self, listener: str = "ingress") -> int:
        return self.server.listener_manager.listeners[listener].port

    def url(self, path: str = "/", listener: str = "ingress") -> str:
        return f"http://127.0.0.1:{self.port(listener)}{path}"

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.admin.port}{path}"

    def stat(self, name: str) -> int:
        return self.server.store.value(name)


@contextlib.asynccontextmanager
async def running_proxy(boot: bootstrap_pb2.Bootstrap, seed: int = 7, concurrency: int = 1):
    server = Server(boot, concurrency=concurrency, rng=random.Random(seed))
    await server.start()
    try:
        for _ in range(200):
            if server.state == "LIVE":
                break
            await asyncio.sleep(0.01)
        yield Proxy(server)
    finally:
        server.stop()
        if server.admin is not None:
            await server.admin.stop()


@contextlib.asynccontextmanager
async def running_backends(*names: str):
    bes = [Backend(n) for n in names]
    for b in bes:
        await b.start()
    try:
        yield bes
    finally:
        for b in bes:
            await b.stop()


async def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh connection and read until the server closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    chunks = []
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            chunks.append(chunk)
    except TimeoutError:
        pass
    writer.close()
    return b"".join(chunks)
