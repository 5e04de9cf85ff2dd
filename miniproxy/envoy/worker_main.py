"""One worker process: its event loop, listeners, thread-local clusters and stats.

Mirrors the worker half of source/server/worker_impl.cc (WorkerImpl::threadRoutine runs the
dispatcher; addListener / removeListener take effect on the worker), source/common/
upstream/cluster_manager_impl.cc's ThreadLocalClusterManagerImpl (a per-worker copy of each
cluster: its load balancer over the host set the main thread last posted, its connection
pools) and the RDS slot of source/common/router/rds_impl.cc (each worker reads the route table
the main thread posted). Started by worker.py with one end of a socket pair; every `Snapshot`
that arrives is applied whole — only listeners, clusters and route tables whose serialized
config changed are rebuilt — and acknowledged with `Applied`. Outlier detection, health
checks, DNS and xDS stay in the main process: this worker reports request outcomes to it and
receives host health back in the next snapshot. Circuit breakers and local rate limit buckets
count in main's shared segment, at the blocks the snapshot names. The process exits when the
channel closes.
Omitted: per-worker watchdog, hot restart, drain of open connections at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import random
import socket
import sys

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2

from miniproxy.envoy.cluster import Cluster
from miniproxy.envoy.conn_manager import RouteConfigProvider
from miniproxy.envoy.filters import route_specific_config
from miniproxy.envoy.host import Host
from miniproxy.envoy.listener_manager import Listener
from miniproxy.envoy.route_matcher import RouteTable
from miniproxy.envoy.shared_memory import Segment
from miniproxy.envoy.stats import DerivedGauge, Store
from miniproxy.envoy.worker_channel import (
    Applied,
    Channel,
    HistogramData,
    ListenSocket,
    OutlierResults,
    SharedMemory,
    Snapshot,
    StatsReply,
    StatsRequest,
)

log = logging.getLogger("miniproxy.envoy.worker_main")


class OutlierReporter:
    """Stands in for a cluster's Detector on a worker: results go to main, batched per loop
    iteration (Envoy's worker posts to the main dispatcher in the same way)."""

    def __init__(self, cluster_name: str, sink) -> None:
        self.cluster_name = cluster_name
        self.sink = sink

    def put_http_response_code(self, host: Host, code: int, now: float) -> None:
        self.sink.add(self.cluster_name, host.address_string, code)

    def put_connect_failure(self, host: Host, now: float) -> None:
        self.sink.add(self.cluster_name, host.address_string, "connect_failure")

    def put_timeout(self, host: Host, now: float) -> None:
        self.sink.add(self.cluster_name, host.address_string, "timeout")


class WorkerInstance:
    """What listeners, connection managers and routers see as `server` on a worker."""

    def __init__(self, index: int, channel: Channel, rng: random.Random) -> None:
        self.index = index
        self.channel = channel
        self.rng = rng
        self.store = Store()
        self.cluster_manager = self  # get(name): the thread-local cluster
        self.clusters: dict[str, Cluster] = {}
        self.cluster_bytes: dict[str, bytes] = {}
        self.rds: dict[str, RouteConfigProvider] = {}
        self.rds_bytes: dict[str, bytes] = {}
        self.listeners: dict[str, Listener] = {}
        self.listener_bytes: dict[str, bytes] = {}
        self.sockets: dict[str, socket.socket] = {}
        self.outlier_batch: list[tuple[str, str, int | str]] = []
        self.segment: Segment | None = None
        self.blocks: dict[str, int] = {}  # the last snapshot's shared-segment layout
        self.done = asyncio.Event()

    # -- what conn_manager / router / filters call -----------------------------------------
    def get(self, name: str) -> Cluster | None:
        return self.clusters.get(name)

    def rds_provider(self, name: str) -> RouteConfigProvider:
        p = self.rds.get(name)
        if p is None:
            p = self.rds[name] = RouteConfigProvider(None, name)
        return p

    def unpack_per_filter(self, typed_map) -> dict:
        return {
            n: route_specific_config(n, a, self.store, self.shared_bucket)
            for n, a in typed_map.items()
        }

    def shared_bucket(self, key: str) -> tuple[memoryview, tuple[int, int]] | None:
        """A local rate limit's bucket in the shared segment: (its slots, (fd, byte offset))."""
        block = self.blocks.get("ratelimit/" + key)
        if self.segment is None or block is None:
            return None
        return self.segment.block(block)[:2], (self.segment.fd, self.segment.offset(block))

    def add(self, cluster: str, address: str, result: int | str) -> None:
        if not self.outlier_batch:
            asyncio.get_running_loop().call_soon(self._flush_outlier)
        self.outlier_batch.append((cluster, address, result))

    def _flush_outlier(self) -> None:
        batch, self.outlier_batch = self.outlier_batch, []
        self.channel.send(OutlierResults(batch))

    # -- the channel -----------------------------------------------------------------------
    def on_readable(self, queue: asyncio.Queue) -> None:
        msgs = self.channel.read()
        if msgs is None:
            self.done.set()
            return
        for m in msgs:
            if isinstance(m, ListenSocket):
                fd = self.channel.fds.pop(0)
                self.sockets[m.key] = socket.socket(fileno=fd)
            elif isinstance(m, SharedMemory):
                self.segment = Segment(m.workers, self.channel.fds.pop(0), m.capacity)
            elif isinstance(m, StatsRequest):
                self.channel.send(self.stats_reply(m.seq))
            else:
                queue.put_nowait(m)

    async def apply_loop(self, queue: asyncio.Queue) -> None:
        first = True
        while True:
            snap = await queue.get()
            if isinstance(snap, Snapshot):
                await self.apply(snap)
                self.channel.send(Applied(snap.version))
                if first:
                    # Modules, protos and the first config live as long as the process: keep
                    # them out of the collector's generations (as __main__ does on main).
                    gc.freeze()
                    first = False

    async def apply(self, snap: Snapshot) -> None:
        """Clusters first (routes name them), then route tables, then listeners."""
        self.blocks = snap.blocks
        for name, st in snap.clusters.items():
            if self.cluster_bytes.get(name) != st.config:
                old = self.clusters.get(name)
                pb = cluster_pb2.Cluster.FromString(st.config)
                c = Cluster(pb, self.store, self.rng, st.added_via_api, primary=False)
                if pb.HasField("outlier_detection"):
                    c.detector = OutlierReporter(name, self)
                block = snap.blocks.get("cluster/" + name)
                if self.segment is not None and block is not None:
                    seg = self.segment
                    c.resources.attach(seg.block(block), block, seg.workers, self.index)
                self.clusters[name], self.cluster_bytes[name] = c, st.config
                if old is not None:
                    c.set_host_states(old.hosts)  # keep per-host stats across the rebuild
                    old.stop()
            self.clusters[name].set_host_states(
                [Host(h.address, h.port, h.weight, h.hostname, h.health_flags) for h in st.hosts]
            )
        for name in [n for n in self.clusters if n not in snap.clusters]:
            gone = self.clusters.pop(name)
            gone.resources.detach()  # main reuses its block once every worker is past here
            gone.stop()
            del self.cluster_bytes[name]
        for name, data in snap.route_configs.items():
            if self.rds_bytes.get(name) != data:
                table = RouteTable(
                    route_pb2.RouteConfiguration.FromString(data), self.unpack_per_filter
                )
                self.rds_provider(name).table, self.rds_bytes[name] = table, data
        for name, st in snap.listeners.items():
            if self.listener_bytes.get(name) != st.config:
                await self._update_listener(name, st.config, st.socket_key)
        for name in [n for n in self.listeners if n not in snap.listeners]:
            self.listeners.pop(name).stop()
            del self.listener_bytes[name]

    async def _update_listener(self, name: str, config: bytes, key: str) -> None:
        old = self.listeners.get(name)
        new = Listener(listener_pb2.Listener.FromString(config), self)
        new.socket_key = key
        if old is not None and old.socket_key == key:
            new.adopt(old)  # same socket: new connections see the new filter chains
        else:
            if old is not None:
                old.stop()
            await new.serve(self.sockets.pop(key), self.index)
        self.listeners[name], self.listener_bytes[name] = new, config

    def stats_reply(self, seq: int) -> StatsReply:
        s = self.store
        gauges = {k: g.value for k, g in s.gauges.items() if not isinstance(g, DerivedGauge)}
        derived = {k: g.value for k, g in s.gauges.items() if isinstance(g, DerivedGauge)}
        hists = {
            k: HistogramData(list(h.counts), h.sum, h.count, list(h.samples))
            for k, h in s.histograms.items()
        }
        hosts = {
            name: {h.address_string: list(vars(h.stats).values()) for h in c.hosts}
            for name, c in self.clusters.items()
        }
        counters = {k: c.value for k, c in s.counters.items()}
        return StatsReply(seq, counters, gauges, derived, hists, hosts)

    def stop(self) -> None:
        for lis in self.listeners.values():
            lis.stop()
        for c in self.clusters.values():
            c.stop()


async def run(index: int, fd: int, seed: int | None) -> int:
    channel = Channel(socket.socket(fileno=fd))
    rng = random.Random(None if seed is None else seed * 1000 + index + 1)
    worker = WorkerInstance(index, channel, rng)
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()
    loop.add_reader(fd, worker.on_readable, queue)
    applier = loop.create_task(worker.apply_loop(queue))
    await worker.done.wait()
    loop.remove_reader(fd)
    applier.cancel()
    worker.stop()
    channel.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    from miniproxy.envoy.__main__ import LEVELS, EnvoyFormatter

    p = argparse.ArgumentParser(prog="envoy-worker", description="a miniproxy.envoy worker")
    p.add_argument("--channel-fd", type=int, required=True)
    p.add_argument("--index", type=int, required=True)
    p.add_argument("-l", "--log-level", default="info", choices=sorted(LEVELS))
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EnvoyFormatter())
    logging.basicConfig(level=LEVELS[args.log_level], handlers=[handler], force=True)
    try:
        return asyncio.run(run(args.index, args.channel_fd, args.seed))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
