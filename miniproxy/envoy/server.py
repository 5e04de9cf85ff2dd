"""The server: wires stats, clusters, listeners, RDS providers, the admin and the ADS client.

Mirrors source/server/server.cc (InstanceImpl::initialize: stats store, cluster manager from
static_resources, listener manager, xDS via dynamic_resources.ads_config, admin; the init
manager that flips the server to LIVE once clusters and the first xDS responses are in; the
`server.` stats) and source/server/config_validation/server.cc (ValidationInstance: build
everything, bind nothing).
With `concurrency` > 1 the listeners' connections run on that many worker threads
(worker.py); with 1 they share the main event loop, which then plays the single worker.
Omitted: hot restart, overload manager, runtime layers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from envoy.config.bootstrap.v3 import bootstrap_pb2

from miniproxy.envoy.cluster_manager import ClusterManager
from miniproxy.envoy.config import EnvoyException
from miniproxy.envoy.conn_manager import RouteConfigProvider
from miniproxy.envoy.filters import route_specific_config
from miniproxy.envoy.listener_manager import Listener, ListenerManager
from miniproxy.envoy.route_matcher import RouteTable
from miniproxy.envoy.stats import Store

log = logging.getLogger("miniproxy.envoy.server")
VERSION = "minicloud/1.0.0/Clean/RELEASE/BoringSSL"


class Server:
    def __init__(
        self,
        bootstrap: bootstrap_pb2.Bootstrap,
        concurrency: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.concurrency = concurrency
        self.rng = rng or random.Random()
        self.store = Store()
        self.start_time = time.time()
        self.cluster_manager = ClusterManager(self.store, self.rng)
        self.listener_manager = ListenerManager(self)
        self.rds: dict[str, RouteConfigProvider] = {}
        self.rds_versions: dict[str, str] = {}
        self.ads = None
        self.admin = None
        self.workers: list = []
        self.main_loop: asyncio.AbstractEventLoop | None = None
        self.state = "PRE_INITIALIZING"
        self.shutdown_event = asyncio.Event()
        s = self.store.scope("server.")
        s.gauge("concurrency").set(concurrency)
        self.uptime = s.gauge("uptime")
        self.live = s.gauge("live")
        self.state_gauge = s.gauge("state")
        self.state_gauge.set(2)

    # -- helpers other modules call --------------------------------------------------------
    def unpack_per_filter(self, typed_map) -> dict:
        return {
            name: route_specific_config(name, any_msg, self.store)
            for name, any_msg in typed_map.items()
        }

    def rds_provider(self, name: str) -> RouteConfigProvider:
        p = self.rds.get(name)
        if p is None:
            p = self.rds[name] = RouteConfigProvider(None, name)
            if self.ads is not None:
                self.ads.update_interest()
        return p

    def apply_route_configs(self, configs: list) -> None:
        """RDS: compile every RouteConfiguration first (so a bad one rejects the update), then swap."""
        tables = [(c.name, RouteTable(c, self.unpack_per_filter)) for c in configs]
        for name, table in tables:
            self.rds_provider(name).table = table

    # -- lifecycle -------------------------------------------------------------------------
    def load_static(self) -> None:
        """Build static clusters and listeners (also what --mode validate does)."""
        for c in self.bootstrap.static_resources.clusters:
            self.cluster_manager.add_or_update_cluster(c)
        for lpb in self.bootstrap.static_resources.listeners:
            lis = Listener(lpb, self)
            self.listener_manager.listeners[lpb.name] = lis
            self.listener_manager.added.inc()
        self.listener_manager.total_active.set(len(self.listener_manager.listeners))

    async def start(self) -> None:
        self.main_loop = asyncio.get_running_loop()
        if self.concurrency > 1:
            from miniproxy.envoy.worker import Worker

            self.workers = [Worker(i) for i in range(self.concurrency)]
            for w in self.workers:
                w.start()
        self.load_static()
        self.state = "INITIALIZING"
        self.state_gauge.set(3)
        self.cluster_manager.start()
        await self.listener_manager.start()
        if self.bootstrap.HasField("admin") and self.bootstrap.admin.HasField("address"):
            from miniproxy.envoy.admin import AdminServer

            self.admin = AdminServer(self)
            await self.admin.start()
        if self.bootstrap.dynamic_resources.HasField("ads_config"):
            from miniproxy.envoy.grpc_mux import AdsClient

            self.ads = AdsClient(self, self.bootstrap.dynamic_resources.ads_config)
            self.ads.start()
        asyncio.get_running_loop().create_task(self._init_watch())

    def initialized(self) -> bool:
        if not self.cluster_manager.all_initialized():
            return False
        if any(p.table is None for p in self.rds.values()):
            return False
        return self.ads is None or self.ads.initial_fetch_done()

    async def _init_watch(self) -> None:
        while not self.initialized():
            await asyncio.sleep(0.05)
        self.state = "LIVE"
        self.state_gauge.set(0)
        self.live.set(1)
        log.info("all clusters initialized. initializing init manager")
        while True:
            self.uptime.set(int(time.time() - self.start_time))
            await asyncio.sleep(1)

    def stop(self) -> None:
        self.listener_manager.stop()
        self.cluster_manager.stop()
        if self.ads is not None:
            self.ads.stop()
        for w in self.workers:
            w.stop()
        self.workers = []

    async def run(self) -> None:
        try:
            await self.start()
        except EnvoyException:
            self.stop()
            raise
        try:
            await self.shutdown_event.wait()
        finally:
            self.stop()
            if self.admin is not None:
                await self.admin.stop()
