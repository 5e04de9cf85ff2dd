"""The server: wires stats, clusters, listeners, RDS providers, the admin and the ADS client.

Mirrors source/server/server.cc (InstanceImpl::initialize: stats store, cluster manager from
static_resources, listener manager, xDS via dynamic_resources.ads_config, admin; the init
manager that flips the server to LIVE once clusters and the first xDS responses are in; the
`server.` stats) and source/server/config_validation/server.cc (ValidationInstance: build
everything, bind nothing).
With `concurrency` > 1 the listeners' connections run in that many worker processes
(worker.py, worker_main.py): this main process keeps xDS, the admin, DNS, health checking and
outlier detection, and posts every configuration change to the workers as one immutable
`Snapshot` (the TLS-slot push); `/stats` merges the workers' stores into its own. Circuit
breaker counts and token buckets, which Envoy's workers share, live in one shared-memory
segment whose blocks main lays out per snapshot (shared_memory.py). With 1 the
main event loop also plays the single worker, in this process.
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
from miniproxy.envoy.filters.local_ratelimit import find_configs
from miniproxy.envoy.listener_manager import Listener, ListenerManager
from miniproxy.envoy.route_matcher import RouteTable
from miniproxy.envoy.shared_memory import BlockAllocator, Segment
from miniproxy.envoy.stats import Store, merge_stores
from miniproxy.envoy.worker_channel import (
    ClusterState,
    HostState,
    ListenerState,
    OutlierResults,
    Snapshot,
    StatsReply,
)

log = logging.getLogger("miniproxy.envoy.server")
VERSION = "minicloud/1.0.0/Clean/RELEASE/BoringSSL"


class Server:
    def __init__(
        self,
        bootstrap: bootstrap_pb2.Bootstrap,
        concurrency: int = 1,
        rng: random.Random | None = None,
        log_level: str = "warning",
    ) -> None:
        self.bootstrap = bootstrap
        self.concurrency = concurrency
        self.log_level = log_level
        self.snapshot_version = 0
        self.push_scheduled = False
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
        self.segment: Segment | None = None  # shared by the worker processes
        self.allocator = BlockAllocator()
        self.bucket_cache: dict[bytes, dict] = {}  # serialized listener/route table → its buckets
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

    def shared_bucket(self, key: str) -> None:
        """Main serves traffic only as the single worker (concurrency 1): private buckets."""
        return None

    def apply_route_configs(self, configs: list) -> None:
        """RDS: compile every RouteConfiguration first (so a bad one rejects the update), then swap."""
        tables = [(c.name, RouteTable(c, self.unpack_per_filter)) for c in configs]
        for name, table in tables:
            self.rds_provider(name).table = table
        self.config_changed()

    # -- main → workers: the TLS-slot push ---------------------------------------------------
    def config_changed(self) -> None:
        """Post one snapshot to every worker after this loop iteration's changes."""
        if self.workers and not self.push_scheduled:
            self.push_scheduled = True
            asyncio.get_running_loop().call_soon(self._push)

    def snapshot(self) -> Snapshot:
        self.snapshot_version += 1
        clusters = {
            name: ClusterState(
                c.pb.SerializeToString(deterministic=True),
                c.added_via_api,
                [
                    HostState(h.address, h.port, h.weight, h.hostname, h.health_flags)
                    for h in c.hosts
                ],
            )
            for name, c in self.cluster_manager.clusters.items()
        }
        routes = {
            name: p.table.pb.SerializeToString(deterministic=True)
            for name, p in self.rds.items()
            if p.table is not None
        }
        listeners = {
            name: ListenerState(lis.pb.SerializeToString(deterministic=True), lis.socket_key)
            for name, lis in self.listener_manager.listeners.items()
        }
        blocks = self._layout_segment(
            [
                (st.config, lis.pb)
                for lis, st in zip(
                    self.listener_manager.listeners.values(), listeners.values(), strict=True
                )
            ]
            + [(routes[n], p.table.pb) for n, p in self.rds.items() if p.table is not None]
        )
        return Snapshot(self.snapshot_version, clusters, routes, listeners, blocks)

    def _layout_segment(self, resources: list[tuple[bytes, object]]) -> dict[str, int]:
        """Give every cluster and every local rate limit config of this snapshot (found in its
        listeners and route tables, given as (serialized, proto)) a block of the shared segment,
        fill the new ones, and let main's breakers read their cluster's block."""
        cache, self.bucket_cache = self.bucket_cache, {}
        buckets: dict = {}
        for data, pb in resources:
            found = cache[data] if data in cache else find_configs(pb, {})
            buckets.update(found)
            self.bucket_cache[data] = found
        live = {"cluster/" + n for n in self.cluster_manager.clusters}
        live |= {"ratelimit/" + k for k in buckets}
        applied = min(w.applied_version for w in self.workers)
        seg = self.segment
        for key, block in self.allocator.update(live, self.snapshot_version, applied):
            view = seg.block(block)
            view[:] = memoryview(bytes(8 * seg.block_slots)).cast("q")
            if key.startswith("ratelimit/"):
                view[0] = buckets[key.removeprefix("ratelimit/")].token_bucket.max_tokens
                view[1] = round(asyncio.get_running_loop().time() * 1e9)
        if len(live) > len(self.allocator.blocks):
            log.error("shared memory segment full: %d keys keep per-worker state",
                      len(live) - len(self.allocator.blocks))  # fmt: skip
        for name, c in self.cluster_manager.clusters.items():
            block = self.allocator.blocks.get("cluster/" + name)
            if block is not None and c.resources.block != block:
                # Main reads the sums for its gauges and never counts (workers serve traffic).
                c.resources.attach(seg.block(block), block, seg.workers, 0)
        return dict(self.allocator.blocks)

    def _push(self) -> None:
        self.push_scheduled = False
        if not self.workers:
            return
        for lis in self.listener_manager.listeners.values():
            if lis.sockets:
                for w, sock in zip(self.workers, lis.sockets, strict=True):
                    w.post_socket(lis.socket_key, sock)
                lis.release_sockets()
        snap = self.snapshot()
        for w in self.workers:
            w.post(snap)

    def on_outlier_results(self, msg: OutlierResults) -> None:
        """A worker's request outcomes reach the cluster's detector here, on main."""
        now = asyncio.get_running_loop().time()
        for cluster_name, address, result in msg.results:
            c = self.cluster_manager.get(cluster_name)
            host = next((h for h in c.hosts if h.address_string == address), None) if c else None
            if host is None or c.detector is None:
                continue
            if result == "connect_failure":
                c.detector.put_connect_failure(host, now)
            elif result == "timeout":
                c.detector.put_timeout(host, now)
            else:
                c.detector.put_http_response_code(host, int(result), now)

    def _on_worker_exit(self, worker) -> None:
        self.shutdown_event.set()  # as in Envoy, a lost worker ends the server

    async def merged_stats(self) -> tuple[Store, dict]:
        """The admin's view: this process's stats plus every worker's, and per-host counters
        summed over workers ({(cluster, address): [HostStats fields]})."""
        replies: list[StatsReply] = []
        if self.workers:
            got = await asyncio.gather(*(w.stats() for w in self.workers))
            replies = [r for r in got if r is not None]
        hosts: dict = {}
        for c in self.cluster_manager.clusters.values():
            for h in c.hosts:
                hosts[(c.name, h.address_string)] = list(vars(h.stats).values())
        for r in replies:
            for cname, per_host in r.hosts.items():
                for addr, values in per_host.items():
                    cur = hosts.setdefault((cname, addr), [0] * len(values))
                    hosts[(cname, addr)] = [a + b for a, b in zip(cur, values, strict=True)]
        return merge_stores(self.store, replies), hosts

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
        self.cluster_manager.on_change = self.config_changed
        if self.concurrency > 1:
            from miniproxy.envoy.worker import Worker

            # Started first: their interpreters import while this process loads the config.
            self.workers = [
                Worker(i, self.log_level, self.rng.getrandbits(31), self.on_outlier_results,
                       self._on_worker_exit)
                for i in range(self.concurrency)
            ]  # fmt: skip
            self.segment = Segment(self.concurrency)
            for w in self.workers:
                w.start()
                w.post_segment(self.segment)
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
        self.config_changed()
        asyncio.get_running_loop().create_task(self._init_watch())

    def initialized(self) -> bool:
        """The init manager's targets: clusters, first RDS tables and xDS responses are in."""
        if not self.cluster_manager.all_initialized():
            return False
        if any(p.table is None for p in self.rds.values()):
            return False
        return self.ads is None or self.ads.initial_fetch_done()

    async def _init_watch(self) -> None:
        while not self.initialized():
            await asyncio.sleep(0.02)
        if self.workers:
            # As Envoy starts its workers once the init manager is done: LIVE when every
            # worker applied a snapshot holding the initialized configuration.
            self.config_changed()
            target = self.snapshot_version + 1
            while any(w.applied_version < target for w in self.workers):
                await asyncio.sleep(0.02)
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
        if self.segment is not None:
            self.segment.close()
            self.segment = None

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
