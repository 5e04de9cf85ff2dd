"""The running mode: informers feed the proxier, a bounded-frequency loop syncs the kernel.

Mirrors k8s.io/kubernetes cmd/kube-proxy/app/server.go (ProxyServer.Run: Service and
EndpointSlice informers wired to the proxier's On* handlers) and the role of
pkg/util/async/bounded_frequency_runner.go: sync as soon as something changed, but not more
often than --iptables-min-sync-period, and at least every --iptables-sync-period.
Also the /metrics (Prometheus) and /healthz endpoints of pkg/proxy/healthcheck.
Omitted: the Node informer (topology labels), config files (--config), conntrack cleanup.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from miniapi.core.v1 import Service
from miniapi.discovery.v1 import EndpointSlice
from miniapi.meta.v1.duration import parse_duration
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.informers import SharedInformerFactory
from miniclient.kubeconfig import build_config_from_flags
from miniclient.rest import Client
from miniproxy.kubeproxy.conntrack import Conntrack
from miniproxy.kubeproxy.kernel import IptablesKernel, NftKernel
from miniproxy.kubeproxy.proxier import Proxier
from miniproxy.kubeproxy.types import ProxyConfig


def _unwrap(obj: Any) -> Any:
    return getattr(obj, "obj", obj)  # DeletedFinalStateUnknown carries the last state


class ProxyServer:
    """One proxier, its two informers, and the sync loop."""

    def __init__(
        self, proxier: Proxier, factory: SharedInformerFactory, min_period: float, period: float
    ):
        self.proxier, self.factory = proxier, factory
        self.min_period, self.period = min_period, period
        self.wake = asyncio.Event()
        self.last_success: float | None = None  # wall clock, for /healthz
        p = proxier
        factory.for_resource(Service).add_event_handler(
            ResourceEventHandlerFuncs(
                add_func=lambda o: self._poke(p.on_service_add(o)),
                update_func=lambda a, b: self._poke(p.on_service_update(a, b)),
                delete_func=lambda o: self._poke(p.on_service_delete(_unwrap(o))),
            )
        )
        factory.for_resource(EndpointSlice).add_event_handler(
            ResourceEventHandlerFuncs(
                add_func=lambda o: self._poke(p.on_endpoint_slice_add(o)),
                update_func=lambda a, b: self._poke(p.on_endpoint_slice_update(a, b)),
                delete_func=lambda o: self._poke(p.on_endpoint_slice_delete(_unwrap(o))),
            )
        )

    def _poke(self, pending: bool) -> None:
        if pending:
            self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Start informers, sync once they have synced, then on changes (rate-limited)."""
        self.factory.start()
        await self.factory.wait_for_cache_sync()
        while not stop.is_set():
            self.wake.clear()
            try:
                result = self.proxier.sync_proxy_rules()
                self.last_success = time.time()
                kind = "full" if result.full else "partial"
                print(
                    f"kube-proxy: {kind} sync of {result.services} service ports in {result.duration:.3f}s",
                    flush=True,
                )
            except Exception as err:  # the next sync is full; keep serving
                print(f"kube-proxy: sync failed: {err}", file=sys.stderr, flush=True)
            await asyncio.sleep(self.min_period)
            try:
                await asyncio.wait_for(
                    self.wake.wait(), timeout=max(self.period - self.min_period, 0.0)
                )
            except TimeoutError:
                pass  # periodic resync
        await self.factory.shutdown()

    async def metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.proxier.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, _request: web.Request) -> web.Response:
        """ProxierHealthServer: healthy while syncs succeed within two sync periods."""
        now = time.time()
        healthy = (
            self.last_success is not None
            and now - self.last_success <= 2 * self.period + self.min_period
        )
        body = {"lastUpdated": _rfc3339(self.last_success), "currentTime": _rfc3339(now)}
        return web.json_response(body, status=200 if healthy else 503)


def _rfc3339(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat().replace("+00:00", "Z")


async def _serve(server: ProxyServer, metrics_addr: str, healthz_addr: str) -> list[web.AppRunner]:
    """--metrics-bind-address and --healthz-bind-address (empty disables one)."""
    runners = []
    for addr, path, handler in (
        (metrics_addr, "/metrics", server.metrics),
        (healthz_addr, "/healthz", server.healthz),
    ):
        if not addr:
            continue
        app = web.Application()
        app.router.add_get(path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        host, _, port = addr.rpartition(":")
        await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
        runners.append(runner)
    return runners


async def run_proxy(args) -> int:
    """`--kubeconfig K --hostname-override NODE --proxy-mode M`: run until interrupted."""
    client = Client(build_config_from_flags("", args.kubeconfig))
    cfg = ProxyConfig(
        node_name=args.node,
        node_ips=tuple(args.node_ip),
        cluster_cidr=args.cluster_cidr,
        masquerade_all=args.masquerade_all,
        nodeport_addresses=tuple(args.nodeport_addresses),
        nftables_endpoint_ladder=args.nftables_endpoint_ladder,
    )
    backend = IptablesKernel(args.netns) if args.proxy_mode == "iptables" else NftKernel(args.netns)
    period = parse_duration(args.iptables_sync_period) / 1e9
    proxier = Proxier(
        args.proxy_mode, cfg, backend, sync_period=period, conntrack=Conntrack(args.netns)
    )
    server = ProxyServer(
        proxier,
        SharedInformerFactory(client),
        parse_duration(args.iptables_min_sync_period) / 1e9,
        period,
    )
    runners = await _serve(server, args.metrics_bind_address, args.healthz_bind_address)
    stop = asyncio.Event()
    try:
        await server.run(stop)
    finally:
        for runner in runners:
            await runner.cleanup()
    return 0
