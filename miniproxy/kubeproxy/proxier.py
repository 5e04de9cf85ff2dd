"""The proxier: informer events in, one sync out — full or partial, iptables or nftables.

Mirrors the Proxier types of k8s.io/kubernetes pkg/proxy/iptables/proxier.go and
pkg/proxy/nftables/proxier.go: OnServiceAdd/Update/Delete, OnEndpointSlice*,
syncProxyRules (needFullSync, FullSyncPeriod, the partial sync of changed services only,
stale chain cleanup) and the sync metrics of pkg/proxy/metrics. The kernel is a backend
object (kernel.IptablesKernel / kernel.NftKernel, or the in-memory models in tests); the
clock is injected.
After a successful sync, conntrack entries of removed UDP endpoints are flushed
(deleteEndpointConnections, conntrack.py) when a Conntrack is given.
Omitted: health-check servers, the iptables Monitor.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from miniapi.core.v1 import Service
from miniapi.discovery.v1 import EndpointSlice
from miniproxy.kubeproxy import iptables_proxier, nftables_proxier, port_info
from miniproxy.kubeproxy.changes import EndpointsChangeTracker, ServiceChangeTracker
from miniproxy.kubeproxy.conntrack import Conntrack, delete_endpoint_connections
from miniproxy.kubeproxy.iptables_chains import LARGE_CLUSTER_ENDPOINTS_THRESHOLD
from miniproxy.kubeproxy.render_cache import RenderCache
from miniproxy.kubeproxy.types import EndpointsMap, ProxyConfig, ServicePortMap

# proxyutil.FullSyncPeriod: even partial-sync proxiers rewrite everything hourly.
FULL_SYNC_PERIOD = 3600.0


@dataclass
class SyncResult:
    full: bool
    duration: float
    text: str
    services: int
    endpoints: int
    stale_udp_endpoints: list = field(default_factory=list)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one sync.

    A render allocates hundreds of thousands of short-lived, acyclic strings and lists
    (reference counting frees them); each of those allocations would otherwise count
    towards a collection that walks every live service and endpoint info (a quarter
    of a 10k-service render's CPU time). Go's collector is concurrent; ours is not."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SyncMetrics:
    """The kube-proxy metrics a sync updates (names as in pkg/proxy/metrics)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sync = Histogram(
            "kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency", registry=r
        )
        self.full = Histogram(
            "kubeproxy_sync_full_proxy_rules_duration_seconds", "full sync latency", registry=r
        )
        self.partial = Histogram(
            "kubeproxy_sync_partial_proxy_rules_duration_seconds",
            "partial sync latency",
            registry=r,
        )
        self.rules = Gauge(
            "kubeproxy_sync_proxy_rules_iptables_total",
            "rules in the last sync",
            ["table"],
            registry=r,
        )
        self.failures = Counter(
            "kubeproxy_sync_proxy_rules_iptables_restore_failures",
            "failed restores or nft runs",
            registry=r,
        )


class Proxier:
    """One node's proxier in `mode` "iptables" or "nftables" over a kernel backend."""

    def __init__(
        self,
        mode: str,
        cfg: ProxyConfig,
        backend,
        clock: Callable[[], float] = time.monotonic,
        sync_period: float = 30.0,
        conntrack: Conntrack | None = None,
    ):
        if mode not in ("iptables", "nftables"):
            raise ValueError(f'invalid proxy mode "{mode}"')
        self.mode, self.cfg, self.backend, self.clock = mode, cfg, backend, clock
        # newServiceInfo / newEndpointInfo of this proxier: chain names are hashed here,
        # as changes arrive, never inside syncProxyRules.
        if mode == "iptables":
            make_svc, make_ep, make_eps = (
                port_info.new_iptables_service_info,
                port_info.new_iptables_endpoint_info,
                port_info.IptablesEndpoints.of,
            )
        else:
            make_svc, make_ep, make_eps = (
                port_info.new_nft_service_info,
                port_info.new_nft_endpoint_info,
                port_info.NftEndpoints.of,
            )
        self.service_changes = ServiceChangeTracker(make_svc)
        self.endpoints_changes = EndpointsChangeTracker(cfg.node_name, make_ep, make_eps)
        self.svc_port_map: ServicePortMap = {}
        self.endpoints_map: EndpointsMap = {}
        self.need_full_sync = True
        self.last_full_sync = float("-inf")
        self.nft_state: nftables_proxier.NftState | None = None
        self.iptables_cache: RenderCache[iptables_proxier.ServiceBlock] = RenderCache()
        self.nft_cache: RenderCache[nftables_proxier.NftServiceBlock] = RenderCache()
        self.sync_period = sync_period
        self.last_iptables_cleanup = float("-inf")
        self.metrics = SyncMetrics()
        self.conntrack = conntrack

    def on_service_add(self, svc: Service) -> bool:
        return self.service_changes.update(None, svc)

    def on_service_update(self, old: Service, svc: Service) -> bool:
        return self.service_changes.update(old, svc)

    def on_service_delete(self, svc: Service) -> bool:
        return self.service_changes.update(svc, None)

    def on_endpoint_slice_add(self, eps: EndpointSlice) -> bool:
        return self.endpoints_changes.endpoint_slice_update(eps, False)

    def on_endpoint_slice_update(self, _old: EndpointSlice, eps: EndpointSlice) -> bool:
        return self.endpoints_changes.endpoint_slice_update(eps, False)

    def on_endpoint_slice_delete(self, eps: EndpointSlice) -> bool:
        return self.endpoints_changes.endpoint_slice_update(eps, True)

    def sync_proxy_rules(self) -> SyncResult:
        """Fold pending changes in and write them; on failure the next sync is full."""
        start = self.clock()
        full = self.need_full_sync or start - self.last_full_sync > FULL_SYNC_PERIOD
        updated = self.service_changes.apply(self.svc_port_map)
        ep_result = self.endpoints_changes.apply(self.endpoints_map)
        changed = None if full else updated | ep_result.updated_services
        try:
            with gc_paused():
                text = (
                    self._sync_iptables(changed)
                    if self.mode == "iptables"
                    else self._sync_nftables(changed)
                )
        except Exception:
            # The trackers were already drained: only a full sync can recover.
            self.need_full_sync = True
            self.metrics.failures.inc()
            raise
        self.need_full_sync = False
        if self.conntrack is not None and ep_result.stale_udp_endpoints:
            # Only now: the new rules are in, so a flushed flow re-picks a live endpoint.
            delete_endpoint_connections(
                self.conntrack, self.svc_port_map, ep_result.stale_udp_endpoints
            )
        end = self.clock()
        if full:
            self.last_full_sync = end
        self._observe(full, end - start)
        n_eps = sum(map(len, self.endpoints_map.values()))
        return SyncResult(
            full, end - start, text, len(self.svc_port_map), n_eps, ep_result.stale_udp_endpoints
        )

    def _sync_iptables(self, changed) -> str:
        if changed is None:
            self.backend.ensure_jump_rules()
        # largeClusterMode as of the last render (the render decides it again).
        large = self.iptables_cache.endpoint_count() > LARGE_CLUSTER_ENDPOINTS_THRESHOLD
        existing: set[str] = set()
        # iptables-save takes seconds on big hosts: large clusters list stale chains only
        # once per sync period (they are unreferenced, so harmless meanwhile).
        if not large or self.clock() - self.last_iptables_cleanup > self.sync_period:
            existing = self.backend.chains("nat")
            self.last_iptables_cleanup = self.clock()
        r = iptables_proxier.render(
            self.svc_port_map,
            self.endpoints_map,
            self.cfg,
            changed=changed,
            existing_nat_chains=existing,
            cache=self.iptables_cache,
        )
        self.backend.restore(r.text)
        self.metrics.rules.labels("filter").set(r.filter_rules)
        self.metrics.rules.labels("nat").set(r.nat_rules - r.deleted_chains)
        return r.text

    def _sync_nftables(self, changed) -> str:
        cleanup = nftables_proxier.cleanup_text(self.nft_state)
        # Only a full sync lists the table (chains left by an earlier run, say); a partial
        # sync knows the changed services' old chains from its render cache, as upstream's
        # tracking of committed chains (kubernetes PR 139878) does.
        listed = changed is None
        if cleanup:
            try:
                self.backend.run(cleanup)
            except Exception:
                # Still referenced: list, so that they are found stale again (or active).
                listed = True
        chains, sets = self.backend.objects() if listed else (None, None)
        r = nftables_proxier.render(
            self.svc_port_map,
            self.endpoints_map,
            self.cfg,
            changed=changed,
            previous=self.nft_state,
            existing_chains=chains,
            existing_sets=sets,
            cache=self.nft_cache,
        )
        self.backend.run(r.text)
        self.nft_state = r.state
        return r.text

    def _observe(self, full: bool, seconds: float) -> None:
        self.metrics.sync.observe(seconds)
        (self.metrics.full if full else self.metrics.partial).observe(seconds)
