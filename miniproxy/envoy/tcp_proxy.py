"""envoy.filters.network.tcp_proxy: pipe a downstream connection to a cluster's host.

Mirrors source/common/tcp_proxy/tcp_proxy.cc (Filter::initializeUpstreamConnection: pick a
host, connect within connect_timeout, `max_connect_attempts`, then shovel bytes both ways;
the `tcp.<stat_prefix>.` stats) — for a `cluster` or `weighted_clusters` destination.
Omitted: on-demand clusters, tunneling over HTTP, idle_timeout, access logs.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("miniproxy.envoy.tcp_proxy")


class TcpProxyConfig:
    def __init__(self, pb, server) -> None:
        self.pb = pb
        self.server = server
        s = server.store.scope(f"tcp.{pb.stat_prefix}.")
        self.cx_total = s.counter("downstream_cx_total")
        self.cx_no_route = s.counter("downstream_cx_no_route")
        self.cx_rx = s.counter("downstream_cx_rx_bytes_total")
        self.cx_tx = s.counter("downstream_cx_tx_bytes_total")
        self.upstream_flush_active = s.gauge("upstream_flush_active")
        self.max_attempts = pb.max_connect_attempts.value or 1

    def pick_cluster(self) -> str:
        if self.pb.WhichOneof("cluster_specifier") == "cluster":
            return self.pb.cluster
        clusters = self.pb.weighted_clusters.clusters
        total = sum(c.weight for c in clusters)
        point = self.server.rng.randrange(total) if total else 0
        for c in clusters:
            point -= c.weight
            if point < 0:
                return c.name
        return clusters[-1].name


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter) -> None:
    try:
        while data := await reader.read(65536):
            counter.inc(len(data))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            writer.close()


async def handle_connection(
    config: TcpProxyConfig, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    config.cx_total.inc()
    cluster = config.server.cluster_manager.get(config.pick_cluster())
    if cluster is None:
        config.cx_no_route.inc()
        writer.close()
        return
    up = None
    for _ in range(config.max_attempts):
        host = cluster.choose_host()
        if host is None:
            break
        if not cluster.resources.connections.can_create():
            cluster.stats.upstream_cx_overflow.inc()
            break
        cluster.stats.upstream_cx_total.inc()
        try:
            up = await asyncio.wait_for(
                asyncio.open_connection(host.address, host.port), cluster.connect_timeout
            )
            break
        except (TimeoutError, OSError):
            cluster.stats.upstream_cx_connect_fail.inc()
            if cluster.detector:
                cluster.detector.put_connect_failure(host, asyncio.get_running_loop().time())
    if up is None:
        writer.close()
        return
    ureader, uwriter = up
    cluster.resources.connections.inc()
    cluster.stats.upstream_cx_active.inc()
    try:
        await asyncio.gather(
            _pipe(reader, uwriter, config.cx_rx), _pipe(ureader, writer, config.cx_tx)
        )
    finally:
        cluster.resources.connections.dec()
        cluster.stats.upstream_cx_active.dec()
        uwriter.close()
        writer.close()
