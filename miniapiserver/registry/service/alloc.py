"""ClusterIPs and NodePorts of a Service, allocated on create and update, released on delete.

Mirrors pkg/registry/core/service/storage/alloc.go (Allocators:
allocateCreate, initIPFamilyFields, txnAllocClusterIPs/allocIPs,
txnAllocNodePorts/initNodePorts, allocHealthCheckNodePort, allocateUpdate,
updateClusterIPs, updateNodePorts, releaseAllocatedResources) and the
normalizeClusterIPs / patchAllocatedValues steps of storage.go. Objects are
JSON-shaped dicts (the v1 wire form). Each create or update returns a
Transaction: on success it frees what the change gave up, on failure it frees
what it took, so a refused or failed write leaks nothing. One IP family per
cluster (SingleStack); the allocators persist through range_storage.py.
Omitted: dual-stack clusters (a second --service-cluster-ip-range), the
PreferDualStack upgrade/downgrade cases, dry-run allocation (a dry run checks
ranges but reserves nothing).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from miniapi import errors
from miniapi.validation import field as vfield
from miniapiserver.registry.service.ipallocator import AllocationError, ErrNotInRange, Range
from miniapiserver.registry.service.portallocator import PortAllocator
from miniapiserver.registry.service.range_storage import RangeRegistry

Obj = dict[str, Any]
NONE = "None"
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def _invalid(svc: Obj, errs: list[vfield.Error]) -> errors.StatusError:
    return errors.new_invalid("", "Service", svc.get("metadata", {}).get("name", ""), errs)


def family_of(ip: str) -> str:
    return "IPv4" if ipaddress.ip_address(ip).version == 4 else "IPv6"


def needs_health_check(spec: Obj) -> bool:
    """apiservice.NeedsHealthCheck: a LoadBalancer that keeps traffic on local endpoints."""
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def should_allocate_node_ports(spec: Obj) -> bool:
    if spec.get("type") == "NodePort":
        return True
    return spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)


def collect_node_ports(spec: Obj) -> list[int]:
    """collectServiceNodePorts: each distinct nodePort of the ports."""
    out: list[int] = []
    for p in spec.get("ports") or []:
        n = p.get("nodePort") or 0
        if n and n not in out:
            out.append(n)
    return out


@dataclass
class Transaction:
    """What one create/update took (undone on failure) and gave up (freed on success)."""

    owner: Allocators
    ips: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    release_ips: list[str] = field(default_factory=list)
    release_ports: list[int] = field(default_factory=list)

    async def finish(self, success: bool) -> None:
        ips, ports = (self.release_ips, self.release_ports) if success else (self.ips, self.ports)
        for ip in ips:
            await self.owner.release_ip(ip)
        for port in ports:
            await self.owner.release_port(port)
        self.ips, self.ports, self.release_ips, self.release_ports = [], [], [], []


class Allocators:
    """The cluster's ClusterIP range and NodePort range, each persisted in etcd."""

    def __init__(
        self,
        ips: Range,
        ip_registry: RangeRegistry,
        ports: PortAllocator,
        port_registry: RangeRegistry,
    ) -> None:
        self.ips, self.ip_registry = ips, ip_registry
        self.ports, self.port_registry = ports, port_registry

    # --- the persisted primitives -------------------------------------------------

    async def allocate_ip(self, ip: str) -> None:
        await self.ip_registry.try_update(lambda: self.ips.allocate(ip))

    async def allocate_next_ip(self) -> str:
        return await self.ip_registry.try_update(self.ips.allocate_next)

    async def release_ip(self, ip: str) -> None:
        await self.ip_registry.try_update(lambda: self.ips.release(ip))

    async def allocate_port(self, port: int) -> None:
        await self.port_registry.try_update(lambda: self.ports.allocate(port))

    async def allocate_next_port(self) -> int:
        return await self.port_registry.try_update(self.ports.allocate_next)

    async def release_port(self, port: int) -> None:
        await self.port_registry.try_update(lambda: self.ports.release(port))

    # --- create ---------------------------------------------------------------------

    async def allocate_create(self, svc: Obj, dry_run: bool) -> Transaction:
        """allocateCreate: families, then ClusterIPs, then NodePorts; all or nothing."""
        spec = svc.setdefault("spec", {})
        normalize_cluster_ips(spec, None)
        self.init_ip_family_fields(svc, None)
        txn = Transaction(self)
        try:
            await self._alloc_cluster_ips(svc, txn, dry_run)
            if spec.get("type") in NODE_PORT_TYPES:
                await self._init_node_ports(svc, txn, dry_run)
            if needs_health_check(spec):
                await self._alloc_health_check_node_port(spec, txn, dry_run)
        except BaseException:
            await txn.finish(False)
            raise
        return txn

    def init_ip_family_fields(self, svc: Obj, old: Obj | None) -> None:
        """initIPFamilyFields for a single-stack cluster: default policy and families, or 422."""
        spec = svc["spec"]
        if spec.get("type") == "ExternalName":
            return
        ips = spec.get("clusterIPs") or []
        headless_selectorless = spec.get("clusterIP") == NONE and not spec.get("selector")
        if spec.get("ipFamilyPolicy") is None:
            old_policy = (old or {}).get("spec", {}).get("ipFamilyPolicy")
            spec["ipFamilyPolicy"] = old_policy or (
                "RequireDualStack" if headless_selectorless else "SingleStack"
            )
        policy, families = spec["ipFamilyPolicy"], list(spec.get("ipFamilies") or [])
        errs = _single_stack_errors(policy, ips, families)
        for i, ip in enumerate(ips):
            if ip == NONE:
                break
            if i >= len(families):
                fam = family_of(ip)
                if fam != self.ips.family:
                    p = vfield.new_path("spec", "clusterIPs").index(i)
                    errs.append(vfield.invalid(p, ips, f"{fam} is not configured on this cluster"))
                else:
                    families.append(fam)
        if errs:
            raise _invalid(svc, errs)
        if headless_selectorless:
            families = families or [self.ips.family]
            if len(families) < 2 and policy != "SingleStack":
                families.append("IPv6" if families[0] == "IPv4" else "IPv4")
            spec["ipFamilies"] = families
            return
        if policy == "RequireDualStack":
            p = vfield.new_path("spec", "ipFamilyPolicy")
            errs.append(
                vfield.invalid(p, policy, "this cluster is not configured for dual-stack services")
            )
        for i, fam in enumerate(families):
            if fam != self.ips.family:
                p = vfield.new_path("spec", "ipFamilies").index(i)
                errs.append(vfield.invalid(p, fam, "not configured on this cluster"))
        if errs:
            raise _invalid(svc, errs)
        spec["ipFamilies"] = families or [self.ips.family]

    async def _alloc_cluster_ips(self, svc: Obj, txn: Transaction, dry_run: bool) -> None:
        """allocClusterIPs/allocIPs: the requested IP reserved, or the next free one."""
        spec = svc["spec"]
        ips = list(spec.get("clusterIPs") or [])
        if spec.get("type") == "ExternalName" or (ips and ips[0] == NONE):
            return
        ip = ips[0] if ips else ""
        if not ip:
            if dry_run:
                return
            try:
                ip = await self.allocate_next_ip()
            except AllocationError as e:
                raise errors.new_internal_error(f"failed to allocate a serviceIP: {e}") from None
            txn.ips.append(ip)
        else:
            try:
                if dry_run:
                    if self.ips.contains(ip) is None:  # a dry run checks, reserves nothing
                        raise ErrNotInRange(ip, str(self.ips.net))
                else:
                    await self.allocate_ip(ip)
                    txn.ips.append(ip)
            except AllocationError as e:
                p = vfield.new_path("spec", "clusterIPs")
                msg = f"failed to allocate IP {ip}: {e}"
                raise _invalid(
                    svc, [vfield.invalid(p, spec.get("clusterIPs") or [], msg)]
                ) from None
        spec["clusterIPs"] = [ip, *ips[1:]]
        spec["clusterIP"] = ip

    async def _node_port(
        self, svc: Obj, i: int, port: int, txn: Transaction, dry_run: bool
    ) -> None:
        """Reserve one requested node port, or 422 with the allocator's text."""
        if dry_run:
            return
        try:
            await self.allocate_port(port)
        except AllocationError as e:
            p = vfield.new_path("spec", "ports").index(i).child("nodePort")
            raise _invalid(svc, [vfield.invalid(p, port, str(e))]) from None
        txn.ports.append(port)

    async def _next_node_port(self, txn: Transaction, dry_run: bool) -> int:
        if dry_run:
            return 0
        try:
            port = await self.allocate_next_port()
        except AllocationError as e:
            raise errors.new_internal_error(f"failed to allocate a nodePort: {e}") from None
        txn.ports.append(port)
        return port

    async def _init_node_ports(self, svc: Obj, txn: Transaction, dry_run: bool) -> None:
        """initNodePorts: one node port per service port number, requested ones honoured."""
        spec = svc["spec"]
        ports = spec.get("ports") or []
        by_port: dict[int, int] = {}
        for i, sp in enumerate(ports):
            if not sp.get("nodePort") and not should_allocate_node_ports(spec):
                continue
            done = by_port.get(sp.get("port", 0), 0)
            if not done:
                wanted = next(
                    (
                        q["nodePort"]
                        for q in ports[i:]
                        if q.get("port") == sp.get("port") and q.get("nodePort")
                    ),
                    0,
                )
                if wanted:
                    await self._node_port(svc, i, wanted, txn, dry_run)
                    n = wanted
                else:
                    n = await self._next_node_port(txn, dry_run)
                if n:
                    sp["nodePort"], by_port[sp.get("port", 0)] = n, n
            elif sp.get("nodePort", 0) != done:
                if not sp.get("nodePort"):
                    sp["nodePort"] = done
                else:
                    await self._node_port(svc, i, sp["nodePort"], txn, dry_run)

    async def _alloc_health_check_node_port(
        self, spec: Obj, txn: Transaction, dry_run: bool
    ) -> None:
        wanted = spec.get("healthCheckNodePort") or 0
        if dry_run:
            return
        try:
            if wanted:
                await self.allocate_port(wanted)
                txn.ports.append(wanted)
            else:
                spec["healthCheckNodePort"] = await self.allocate_next_port()
                txn.ports.append(spec["healthCheckNodePort"])
        except AllocationError as e:
            what = (
                f"requested HealthCheck NodePort {wanted}" if wanted else "a HealthCheck NodePort 0"
            )
            raise errors.new_internal_error(f"failed to allocate {what}: {e}") from None

    # --- delete ---------------------------------------------------------------------

    async def release_allocated_resources(self, svc: Obj) -> None:
        """releaseAllocatedResources: the ClusterIPs, node ports and health check port."""
        spec = svc.get("spec", {})
        for ip in cluster_ips_held(spec):
            await self.release_ip(ip)
        for port in collect_node_ports(spec):
            await self.release_port(port)
        if needs_health_check(spec) and spec.get("healthCheckNodePort"):
            await self.release_port(spec["healthCheckNodePort"])


def cluster_ips_held(spec: Obj) -> list[str]:
    """The ClusterIPs a stored Service holds (none for ExternalName or headless)."""
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    if spec.get("type") == "ExternalName" or not ips or ips[0] == NONE:
        return []
    return [ip for ip in ips if ip]


def normalize_cluster_ips(spec: Obj, old_spec: Obj | None) -> None:
    """normalizeClusterIPs: an old client's singular clusterIP becomes clusterIPs[0]."""
    ip, ips = spec.get("clusterIP") or "", spec.get("clusterIPs") or []
    if old_spec is None:
        if ip and not ips:
            spec["clusterIPs"] = [ip]
        return
    old_ip, old_ips = old_spec.get("clusterIP") or "", old_spec.get("clusterIPs") or []
    if ip == old_ip and ips == old_ips:
        return
    if ip != old_ip and ips == old_ips:
        # Only the singular changed: the plural follows it (or is cleared with it).
        spec["clusterIPs"] = [ip] if ip else []


def _single_stack_errors(policy: str, ips: list[str], families: list[str]) -> list[vfield.Error]:
    errs: list[vfield.Error] = []
    if policy != "SingleStack":
        return errs
    p = vfield.new_path("spec", "ipFamilyPolicy")
    if len(ips) == 2:
        errs.append(
            vfield.invalid(
                p,
                policy,
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
            )  # fmt: skip
        )
    if len(families) == 2:
        errs.append(
            vfield.invalid(
                p,
                policy,
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
            )  # fmt: skip
        )
    return errs
