"""The Service REST's hooks around the generic store, and the allocators' wiring.

Mirrors pkg/registry/core/service/storage/storage.go (NewREST: the
ClusterIP and NodePort allocators handed to the REST; beginCreate,
beginUpdate, afterDelete as the generic Store's BeginCreate / BeginUpdate /
AfterDelete hooks), pkg/controlplane/instance.go's allocator set-up
(`/registry/ranges/serviceips`, `/registry/ranges/servicenodeports`) and, run
once at start, the repair controllers of ipallocator/controller/repair.go and
portallocator/controller/repair.go: the stored bitmaps are rebuilt from the
Services that exist, so state survives restarts and a changed range is taken
over. Omitted: the periodic repair loop (upstream: every 3 minutes).
"""

from __future__ import annotations

import random

from miniapiserver.registry.service.alloc import (
    Allocators,
    Obj,
    Transaction,
    cluster_ips_held,
    collect_node_ports,
    needs_health_check,
)
from miniapiserver.registry.service.alloc_update import allocate_update
from miniapiserver.registry.service.ipallocator import AllocationError, Range, parse_cidr
from miniapiserver.registry.service.portallocator import PortAllocator, parse_port_range
from miniapiserver.registry.service.range_storage import (
    SERVICE_IPS_KEY,
    SERVICE_NODE_PORTS_KEY,
    RangeRegistry,
    repair,
)
from miniapiserver.storage.etcd3_store import Store


def new_allocators(store: Store, cidr: str, node_ports: str, rng: random.Random) -> Allocators:
    """The ClusterIP allocator over cidr and the NodePort one over node_ports, etcd-backed."""
    ips = Range(parse_cidr(cidr), rng)
    ports = PortAllocator(parse_port_range(node_ports), rng)
    return Allocators(
        ips, RangeRegistry(ips.alloc, store, SERVICE_IPS_KEY, "serviceipallocations"),
        ports, RangeRegistry(ports.alloc, store, SERVICE_NODE_PORTS_KEY, "servicenodeportallocations"),
    )  # fmt: skip


async def repair_ranges(al: Allocators, store: Store, services_prefix: str) -> None:
    """Both repair controllers' runOnce: every Service's IPs and ports, marked anew."""

    async def services() -> list[Obj]:
        return (await store.get_list(services_prefix)).items

    async def mark_ips() -> None:
        al.ips.alloc.restore(al.ips.alloc.range_spec, b"")
        for svc in await services():
            for ip in cluster_ips_held(svc.get("spec", {})):
                try:
                    al.ips.allocate(ip)
                except AllocationError:
                    pass  # out of a changed range, or a duplicate: upstream only reports these

    async def mark_ports() -> None:
        al.ports.alloc.restore(al.ports.alloc.range_spec, b"")
        for svc in await services():
            spec = svc.get("spec", {})
            held = collect_node_ports(spec)
            if needs_health_check(spec) and spec.get("healthCheckNodePort"):
                held.append(spec["healthCheckNodePort"])
            for port in held:
                try:
                    al.ports.allocate(port)
                except AllocationError:
                    pass

    await repair(al.ip_registry, mark_ips)
    await repair(al.port_registry, mark_ports)


class ServiceREST:
    """The hooks the services RegistryStore calls around its writes."""

    def __init__(self, allocators: Allocators) -> None:
        self.alloc = allocators

    async def begin_create(self, svc: Obj, dry_run: bool) -> Transaction:
        spec = svc.setdefault("spec", {})
        spec["type"] = spec.get("type") or "ClusterIP"
        return await self.alloc.allocate_create(svc, dry_run)

    async def begin_update(self, svc: Obj, old: Obj, dry_run: bool) -> Transaction:
        spec = svc.setdefault("spec", {})
        spec["type"] = spec.get("type") or "ClusterIP"
        return await allocate_update(self.alloc, svc, old, dry_run)

    async def after_delete(self, svc: Obj) -> None:
        await self.alloc.release_allocated_resources(svc)
