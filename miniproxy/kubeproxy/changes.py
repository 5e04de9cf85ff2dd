"""Change trackers: accumulate informer events between syncs, then fold them into the maps.

Mirrors k8s.io/kubernetes pkg/proxy/servicechangetracker.go (ServiceChangeTracker.Update,
ServicePortMap.Update -> UpdateServiceMapResult) and pkg/proxy/endpointschangetracker.go
with endpointslicecache.go (EndpointSliceUpdate, checkoutChanges, EndpointsMap.Update ->
UpdateEndpointsMapResult). Contract: many events for one Service between two syncs count
once; the result names exactly the Services whose rules must be rewritten, which is what
a partial sync rewrites.
The proxier's makeServiceInfo / makeEndpointInfo run here, so per-object work (hashing
chain names) happens once per change, not once per sync.
Omitted: last-change trigger times (network programming latency metric).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from miniapi.core.v1 import Service
from miniapi.discovery.v1 import EndpointSlice
from miniproxy.kubeproxy.convert import service_to_service_map, slice_endpoints, slice_service_name
from miniproxy.kubeproxy.types import (
    EndpointInfo,
    EndpointsMap,
    NamespacedName,
    ServicePortInfo,
    ServicePortMap,
    ServicePortName,
)

MakeServiceInfo = Callable[[ServicePortInfo], ServicePortInfo]
MakeEndpointInfo = Callable[[EndpointInfo, ServicePortName], EndpointInfo]
MakeEndpoints = Callable[[list[EndpointInfo]], list[EndpointInfo]]
SliceEndpoints = dict[ServicePortName, dict[str, EndpointInfo]]


class ServiceChangeTracker:
    """Per Service: the ports before the first pending change and after the last one.

    `make_service_info` is the proxier's newServiceInfo (port_info.py): it runs here, when
    the change arrives, so a sync never hashes a chain name.
    """

    def __init__(self, make_service_info: MakeServiceInfo | None = None) -> None:
        self.items: dict[NamespacedName, tuple[ServicePortMap, ServicePortMap]] = {}
        self.make_service_info = make_service_info

    def _service_map(self, svc: Service | None) -> ServicePortMap:
        """serviceToServiceMap, then the proxier's own info for each port."""
        base = service_to_service_map(svc)
        make = self.make_service_info
        return base if make is None else {spn: make(info) for spn, info in base.items()}

    def update(self, previous: Service | None, current: Service | None) -> bool:
        """Record one add/update/delete; True while any change is pending."""
        obj = current or previous
        if obj is None:
            return bool(self.items)
        name = NamespacedName(obj.metadata.namespace or "default", obj.metadata.name)
        before = self.items[name][0] if name in self.items else self._service_map(previous)
        after = self._service_map(current)
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
                if spn not in after:
                    service_map.pop(spn, None)
            # Assigned in place: the map's key order stays, which the render cache relies
            # on to skip sorting again (render_cache: the same key list, compared in C).
            service_map.update(after)
        self.items = {}
        return updated


@dataclass
class EndpointsUpdateResult:
    updated_services: set[NamespacedName] = field(default_factory=set)
    # UDP endpoints that went away: their conntrack entries must be flushed.
    stale_udp_endpoints: list[tuple[str, EndpointInfo]] = field(default_factory=list)


class EndpointsChangeTracker:
    """endpointSliceCache: applied slices per Service, and pending ones since the last sync.

    A slice is stored already converted, its endpoints made by `make_endpoint_info` (the
    proxier's newEndpointInfo, which caches the endpoint's chain name) when it arrives;
    `make_endpoints` turns a service port's merged endpoint list into the proxier's own
    list type (which joins the endpoints' constant rule text once) when it is applied.
    """

    def __init__(
        self,
        node_name: str,
        make_endpoint_info: MakeEndpointInfo | None = None,
        make_endpoints: MakeEndpoints | None = None,
    ):
        self.node_name = node_name
        self.make_endpoint_info = make_endpoint_info
        self.make_endpoints = make_endpoints
        self.applied: dict[NamespacedName, dict[str, SliceEndpoints]] = {}
        self.pending: dict[NamespacedName, dict[str, SliceEndpoints | None]] = {}

    def endpoint_slice_update(self, eps: EndpointSlice, remove: bool) -> bool:
        """EndpointSliceUpdate; slices without the service-name label are ignored."""
        svc = slice_service_name(eps)
        if svc is None:
            return bool(self.pending)
        self.pending.setdefault(svc, {})[eps.metadata.name] = None if remove else self._infos(eps)
        if self._endpoints(svc, True) == self._endpoints(svc, False):
            self.pending.pop(svc, None)
        return bool(self.pending)

    def _infos(self, eps: EndpointSlice) -> SliceEndpoints:
        """addEndpoints: the slice's endpoints per port, as the proxier's own infos."""
        converted = slice_endpoints(eps, self.node_name)
        make = self.make_endpoint_info
        if make is None:
            return converted
        return {
            spn: {key: make(info, spn) for key, info in infos.items()}
            for spn, infos in converted.items()
        }

    def _slices(self, svc: NamespacedName, with_pending: bool) -> list[SliceEndpoints]:
        slices = dict(self.applied.get(svc, {}))
        if with_pending:
            slices.update(self.pending.get(svc, {}))
        return [s for _, s in sorted(slices.items()) if s is not None]

    def _endpoints(self, svc: NamespacedName, with_pending: bool) -> EndpointsMap:
        merged: dict = {}
        for converted in self._slices(svc, with_pending):
            for spn, infos in converted.items():
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
                if spn not in new:
                    endpoints_map.pop(spn, None)
            if self.make_endpoints is not None:
                new = {spn: self.make_endpoints(eps) for spn, eps in new.items()}
            endpoints_map.update(new)  # in place, as ServiceChangeTracker.apply
            applied = self.applied.setdefault(svc, {})
            for name, eps in self.pending[svc].items():
                if eps is None:
                    applied.pop(name, None)
                else:
                    applied[name] = eps
        self.pending = {}
        return result
