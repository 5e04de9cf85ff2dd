"""A cluster: its hosts (STATIC, STRICT_DNS or EDS), balancer, breakers, detector and checker.

Mirrors source/common/upstream/upstream_impl.cc (ClusterInfoImpl, its `cluster.<name>.` stats,
StaticClusterImpl), source/extensions/clusters/strict_dns/strict_dns_cluster.cc (re-resolve
every `dns_refresh_rate`, default 5 s), source/extensions/clusters/eds/eds.cc
(ClusterLoadAssignment → hosts, EDS health status) and the lb_policy switch of
cluster_manager_impl.cc. `initialized` is set when the first host set is known — what
Envoy's init manager waits for before the server is ready.
A `transport_socket` with an UpstreamTlsContext makes the pool connect with TLS.
The main process holds the primary cluster (membership, DNS, health checking, outlier
detection); a worker process builds a non-primary copy (ThreadLocalCluster) whose host set
and health flags arrive from main (`set_host_states`) and which owns its balancer and pools.
Omitted: LOGICAL_DNS (treated as STRICT_DNS), priorities > 0, localities,
transport_socket_matches, original destination clusters.
"""

from __future__ import annotations

import asyncio
import random
import socket

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import health_check_pb2
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

from miniproxy.envoy.circuit_breaker import ResourceManager
from miniproxy.envoy.conn_pool import ConnPool
from miniproxy.envoy.hash_lb import MaglevLoadBalancer, RingHashLoadBalancer
from miniproxy.envoy.health_checker import HttpHealthChecker
from miniproxy.envoy.host import FAILED_EDS_HEALTH, Host
from miniproxy.envoy.load_balancer import (
    LeastRequestLoadBalancer,
    RandomLoadBalancer,
    RoundRobinLoadBalancer,
)
from miniproxy.envoy.outlier_detection import Detector, DetectorConfig
from miniproxy.envoy.stats import Scope
from miniproxy.envoy.tls_context import transport_socket

_COUNTERS = (
    "upstream_rq_total", "upstream_rq_completed", "upstream_rq_timeout", "upstream_rq_retry",
    "upstream_rq_retry_success", "upstream_rq_retry_overflow", "upstream_rq_retry_limit_exceeded",
    "upstream_rq_pending_total", "upstream_rq_pending_overflow", "upstream_rq_per_try_timeout",
    "upstream_cx_total", "upstream_cx_connect_fail", "upstream_cx_overflow", "upstream_cx_destroy",
    "upstream_cx_none_healthy", "upstream_rq_maintenance_mode", "lb_healthy_panic",
    "membership_change", "update_success", "update_attempt", "upstream_rq_rx_reset",
)  # fmt: skip
_GAUGES = ("upstream_rq_active", "upstream_rq_pending_active", "upstream_cx_active",
           "membership_total", "membership_healthy")  # fmt: skip
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_HEALTH = {health_check_pb2.UNHEALTHY, health_check_pb2.DRAINING, health_check_pb2.TIMEOUT}


class ClusterStats:
    """ALL_CLUSTER_STATS: named counters and gauges under `cluster.<name>.`."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        for n in _COUNTERS:
            setattr(self, n, scope.counter(n))
        for n in _GAUGES:
            setattr(self, n, scope.gauge(n))
        self.upstream_rq_time = scope.histogram("upstream_rq_time")
        self._codes: dict[int, tuple] = {}

    def response(self, code: int) -> None:
        """upstream_rq_<code> and upstream_rq_<class>xx, as CodeStatsImpl::chargeResponseStat."""
        pair = self._codes.get(code)
        if pair is None:
            pair = self._codes[code] = (
                self.scope.counter(f"upstream_rq_{code}"),
                self.scope.counter(f"upstream_rq_{code // 100}xx"),
            )
        pair[0].value += 1
        pair[1].value += 1


def _seconds(d, default: float) -> float:
    return d.seconds + d.nanos / 1e9 if (d.seconds or d.nanos) else default


def _upstream_http2(pb) -> bool:
    """HttpProtocolOptions.explicit_http_config.http2_protocol_options (or the deprecated
    Cluster.http2_protocol_options) selects the HTTP/2 codec for upstream connections."""
    opts = pb.typed_extension_protocol_options.get(HTTP_PROTOCOL_OPTIONS)
    if opts is not None:
        msg = http_protocol_options_pb2.HttpProtocolOptions()
        opts.Unpack(msg)
        return msg.explicit_http_config.HasField("http2_protocol_options")
    return pb.HasField("http2_protocol_options")


def hosts_from_assignment(cla) -> list[Host]:
    hosts = []
    for locality in cla.endpoints:
        for lb in locality.lb_endpoints:
            sa = lb.endpoint.address.socket_address
            h = Host(
                sa.address, sa.port_value, lb.load_balancing_weight.value or 1, lb.endpoint.hostname
            )
            if lb.health_status in _HEALTH:
                h.health_flag_set(FAILED_EDS_HEALTH)
            hosts.append(h)
    return hosts


class Cluster:
    def __init__(
        self,
        pb: cluster_pb2.Cluster,
        scope: Scope,
        rng: random.Random,
        added_via_api: bool = False,
        primary: bool = True,
    ) -> None:
        self.pb = pb
        self.primary = primary
        self.on_change = None  # fn() after membership or health changed (main posts a snapshot)
        self.name = pb.name
        self.added_via_api = added_via_api
        self.type = cluster_pb2.Cluster.DiscoveryType.Name(pb.type)
        self.rng = rng
        self.scope = scope.scope(f"cluster.{pb.name}.")
        self.stats = ClusterStats(self.scope)
        self.connect_timeout = _seconds(pb.connect_timeout, 5.0)
        thresholds = pb.circuit_breakers.thresholds[0] if pb.circuit_breakers.thresholds else None
        self.resources = ResourceManager(thresholds, self.scope, gauges=primary)
        self.hosts: list[Host] = []
        self.lb = self._make_lb()
        # The Detector on the primary; a worker puts an OutlierReporter here (worker_main.py).
        self.detector: Detector | None = None
        if pb.HasField("outlier_detection") and primary:
            self.detector = Detector(
                DetectorConfig.from_proto(pb.outlier_detection), self.scope, rng
            )
            self.detector.callbacks.append(lambda h: self.refresh_health())
        self.health_checker = None
        for hc in pb.health_checks if primary else ():
            if hc.HasField("http_health_check"):
                self.health_checker = HttpHealthChecker(
                    hc, self.scope, lambda h: self.refresh_health()
                )
        self._pool: ConnPool | None = None
        self.tls = (
            transport_socket(pb.transport_socket, downstream=False)
            if pb.HasField("transport_socket")
            else None
        )
        self.sni = self._sni() if self.tls is not None else ""
        self.http2 = _upstream_http2(pb)
        if self.tls is not None and self.http2 and not self._alpn():
            self.tls.set_alpn_protocols(["h2"])  # as Envoy does for an HTTP/2 upstream over TLS
        self.initialized = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.eds_service_name = pb.eds_cluster_config.service_name or pb.name
        if self.type == "STATIC" and primary:
            self.update_hosts(hosts_from_assignment(pb.load_assignment))

    def _upstream_tls(self) -> tls_pb2.UpstreamTlsContext:
        ctx = tls_pb2.UpstreamTlsContext()
        self.pb.transport_socket.typed_config.Unpack(ctx)
        return ctx

    def _sni(self) -> str:
        return self._upstream_tls().sni

    def _alpn(self) -> list[str]:
        return list(self._upstream_tls().common_tls_context.alpn_protocols)

    def _make_lb(self):
        pb, policy = self.pb, cluster_pb2.Cluster.LbPolicy.Name(self.pb.lb_policy)
        kw = {}
        if pb.common_lb_config.HasField("healthy_panic_threshold"):
            kw["panic_threshold"] = pb.common_lb_config.healthy_panic_threshold.value
        if policy == "LEAST_REQUEST":
            c = pb.least_request_lb_config
            return LeastRequestLoadBalancer(
                [], self.rng, choice_count=c.choice_count.value or 2,
                active_request_bias=c.active_request_bias.default_value if c.HasField("active_request_bias") else 1.0, **kw,
            )  # fmt: skip
        if policy == "RANDOM":
            return RandomLoadBalancer([], self.rng, **kw)
        if policy == "RING_HASH":
            c = pb.ring_hash_lb_config
            return RingHashLoadBalancer(
                [], self.rng, minimum_ring_size=c.minimum_ring_size.value or 1024,
                maximum_ring_size=c.maximum_ring_size.value or 8388608, **kw,
            )  # fmt: skip
        if policy == "MAGLEV":
            return MaglevLoadBalancer(
                [], self.rng, table_size=pb.maglev_lb_config.table_size.value or 65537, **kw
            )
        return RoundRobinLoadBalancer([], self.rng, **kw)

    # -- membership ------------------------------------------------------------------
    def update_hosts(self, hosts: list[Host]) -> None:
        """Replace the host set, keeping existing Host objects (and their state) by address."""
        old = {(h.address, h.port): h for h in self.hosts}
        merged = []
        for h in hosts:
            keep = old.get((h.address, h.port))
            if keep is not None:
                keep.weight = h.weight
                keep.health_flags = (keep.health_flags & ~FAILED_EDS_HEALTH) | (
                    h.health_flags & FAILED_EDS_HEALTH
                )
                merged.append(keep)
            else:
                merged.append(h)
        if [id(h) for h in merged] != [id(h) for h in self.hosts]:
            self.stats.membership_change.inc()
        self.hosts = merged
        if self.detector:
            self.detector.set_hosts(merged)
        if self.health_checker:
            self.health_checker.set_hosts(merged)
        self.refresh_health()
        self.initialized.set()

    def refresh_health(self) -> None:
        self.lb.update_hosts(self.hosts)
        self.stats.membership_total.set(len(self.hosts))
        self.stats.membership_healthy.set(sum(1 for h in self.hosts if h.healthy()))
        if self.on_change is not None:
            self.on_change()

    def set_host_states(self, hosts: list[Host]) -> None:
        """Worker side: take main's host set and health flags, keeping our Host objects (and
        their per-host stats and active request counts) for addresses we already had."""
        old = {h.address_string: h for h in self.hosts}
        merged = []
        for h in hosts:
            keep = old.get(h.address_string)
            if keep is not None:
                keep.weight, keep.hostname, keep.health_flags = h.weight, h.hostname, h.health_flags
                h = keep
            merged.append(h)
        self.hosts = merged
        self.lb.update_hosts(merged)

    def choose_host(self, context=None, loop=None) -> Host | None:
        lb = self.lb
        before = lb.panic_count
        host = lb.choose_host(context)
        if lb.panic_count != before:
            self.stats.lb_healthy_panic.inc()
        if host is None:
            self.stats.upstream_cx_none_healthy.inc()
        return host

    def pool(self, loop=None) -> ConnPool:
        """This process's connection pool (one event loop per process)."""
        p = self._pool
        if p is None:
            p = self._pool = ConnPool(self, self.tls, self.sni, self.http2)
        return p

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Begin DNS refresh, health checking and the outlier interval timer (main thread)."""
        loop = asyncio.get_running_loop()
        if self.type in ("STRICT_DNS", "LOGICAL_DNS"):
            self.tasks.append(loop.create_task(self._dns_loop()))
        if self.health_checker:
            self.health_checker.start()
        if self.detector:
            self.tasks.append(loop.create_task(self._outlier_loop()))

    async def _dns_loop(self) -> None:
        refresh = _seconds(self.pb.dns_refresh_rate, 5.0)
        loop = asyncio.get_running_loop()
        while True:
            hosts = []
            for locality in self.pb.load_assignment.endpoints:
                for lb in locality.lb_endpoints:
                    sa = lb.endpoint.address.socket_address
                    try:
                        infos = await loop.getaddrinfo(
                            sa.address,
                            sa.port_value,
                            family=socket.AF_INET,
                            type=socket.SOCK_STREAM,
                        )
                    except OSError:
                        continue
                    for addr in dict.fromkeys(info[4][0] for info in infos):
                        hosts.append(
                            Host(
                                addr, sa.port_value, lb.load_balancing_weight.value or 1, sa.address
                            )
                        )
            self.stats.update_attempt.inc()
            self.stats.update_success.inc()
            self.update_hosts(hosts)
            await asyncio.sleep(refresh)

    async def _outlier_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.detector.config.interval_ms / 1000.0
        while True:
            await asyncio.sleep(interval)
            self.detector.on_interval_timer(loop.time())

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        if self.health_checker:
            self.health_checker.stop()
        if self._pool is not None:
            self._pool.close()
