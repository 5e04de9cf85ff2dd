"""Change trackers: accumulate informer events between syncs, then fold them into the maps.

Mirrors k8s.io/kubernetes pkg/proxy/servicechangetracker.go (ServiceChangeTracker.Update,
ServicePortMap.Update -> UpdateServiceMapResult) and pkg/proxy/endpointschangetracker.go
with endpointslicecache.go (EndpointSliceUpdate, checkoutChanges, EndpointsMap.Update ->
UpdateEndpointsMapResult). Contract: many events for one Service between two syncs count
once; the result names exactly the Services whose rules must be rewritten, which is what
a partial sync rewrites.
Omitted: last-change trigger times (network programming latency metric).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miniapi.core.v1 import Service
from miniapi.discovery.v1 import EndpointSlice
from miniproxy.kubeproxy.convert import service_to_service_map, slice_endpoints, slice_service_name
from miniproxy.kubeproxy.types import EndpointInfo, EndpointsMap, NamespacedName, ServicePortMap


class ServiceChangeTracker:
    """Per Service: the ports before the first pending change and after the last one."""

    def __init__(self) -> None:
        self.items: dict[NamespacedName, tuple[ServicePortMap, ServicePortMap]] = {}

    def update(self, previous: Service | None, current: Service | None) -> bool:
        """Record one add/update/delete; True while any change is pending."""
        obj = current or previous
        if obj is None:
            return bool(self.items)
        name = NamespacedName(obj.metadata.namespace or "default", obj.metadata.name)
        before = self.items[name][0] if name in self.items else service_to_service_map(previous)
        after = service_to_service_map(current)
        if before == after:
            self.items.pop(name, None)  # the change was undone before we synced
        else:
            self.items[name] = (before, after)
        return bool(self.items)

    def apply(self, service_map: ServicePortMap) -> set[NamespacedName]:
        """ServicePortMap.Update: fold pending changes in; return UpdatedServices."""
        updated = set(self.items)
        for before, after in self.items.values():
            for spn in before:
                service_map.pop(spn, None)
            service_map.update(after)
        self.items = {}
        return updated


@dataclass
class EndpointsUpdateResult:
    updated_services: set[NamespacedName] = field(default_factory=set)
    # UDP endpoints that went away: their conntrack entries must be flushed.
    stale_udp_endpoints: list[tuple[str, EndpointInfo]] = field(default_factory=list)


class EndpointsChangeTracker:
    """endpointSliceCache: applied slices per Service, and pending ones since the last sync."""

    def __init__(self, node_name: str):
        self.node_name = node_name
        self.applied: dict[NamespacedName, dict[str, EndpointSlice]] = {}
        self.pending: dict[NamespacedName, dict[str, EndpointSlice | None]] = {}

    def endpoint_slice_update(self, eps: EndpointSlice, remove: bool) -> bool:
        """EndpointSliceUpdate; slices without the service-name label are ignored."""
        svc = slice_service_name(eps)
        if svc is None:
            return bool(self.pending)
        self.pending.setdefault(svc, {})[eps.metadata.name] = None if remove else eps
        if self._endpoints(svc, True) == self._endpoints(svc, False):
            self.pending.pop(svc, None)
        return bool(self.pending)

    def _slices(self, svc: NamespacedName, with_pending: bool) -> list[EndpointSlice]:
        slices = dict(self.applied.get(svc, {}))
        if with_pending:
            slices.update(self.pending.get(svc, {}))
        return [s for _, s in sorted(slices.items()) if s is not None]

    def _endpoints(self, svc: NamespacedName, with_pending: bool) -> EndpointsMap:
        merged: dict = {}
        for eps in self._slices(svc, with_pending):
            for spn, infos in slice_endpoints(eps, self.node_name).items():
                for key, info in infos.items():
                    merged.setdefault(spn, {}).setdefault(key, info)
        # Sorted by "ip:port", as the endpoints of a service port are listed upstream.
        return {spn: [infos[k] for k in sorted(infos)] for spn, infos in merged.items()}

    def apply(self, endpoints_map: EndpointsMap) -> EndpointsUpdateResult:
        """EndpointsMap.Update: replace each changed Service's endpoints."""
        result = EndpointsUpdateResult(updated_services=set(self.pending))
        for svc in self.pending:
            old, new = self._endpoints(svc, False), self._endpoints(svc, True)
            for spn, eps in old.items():
                gone = set(map(str, eps)) - set(map(str, new.get(spn, [])))
                if spn.protocol == "UDP":
                    result.stale_udp_endpoints += [(str(spn), ep) for ep in eps if str(ep) in gone]
                endpoints_map.pop(spn, None)
            endpoints_map.update(new)
            applied = self.applied.setdefault(svc, {})
            for name, eps in self.pending[svc].items():
                if eps is None:
                    applied.pop(name, None)
                else:
                    applied[name] = eps
        self.pending = {}
        return result
