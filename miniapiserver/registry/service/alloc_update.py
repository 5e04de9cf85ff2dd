"""A Service update: keep what it already holds, take what a new type needs, free the rest.

Mirrors pkg/registry/core/service/storage/storage.go (patchAllocatedValues,
normalizeClusterIPs on update) and alloc.go (allocateUpdate,
updateClusterIPs cases A and B, txnUpdateNodePorts/updateNodePorts,
updateHealthCheckNodePort), with the primary-ClusterIP immutability of
validation.go's validateUpgradeDowngradeClusterIPs. Releases are deferred to
the Transaction's success; allocations are undone on failure.
Omitted: dual-stack upgrade/downgrade (cases C and D: one family per cluster).
"""

from __future__ import annotations

from miniapi.validation import field as vfield
from miniapiserver.registry.service.alloc import (
    NODE_PORT_TYPES,
    Allocators,
    Obj,
    Transaction,
    _invalid,
    cluster_ips_held,
    collect_node_ports,
    needs_health_check,
    normalize_cluster_ips,
    should_allocate_node_ports,
)


def _needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName"


def patch_allocated_values(spec: Obj, old: Obj) -> None:
    """A PUT that omits allocated values (clusterIP, nodePorts) keeps the old ones."""
    if _needs_cluster_ip(old) and _needs_cluster_ip(spec):
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old.get("clusterIP", "")
        if not spec.get("clusterIPs") and old.get("clusterIPs"):
            spec["clusterIPs"] = list(old["clusterIPs"])
    if old.get("type") in NODE_PORT_TYPES and spec.get("type") in NODE_PORT_TYPES:
        used = {
            (p.get("port"), p.get("protocol", "TCP")): p["nodePort"]
            for p in old.get("ports") or []
            if p.get("nodePort")
        }
        for p in spec.get("ports") or []:
            if not p.get("nodePort"):
                kept = used.get((p.get("port"), p.get("protocol", "TCP")))
                if kept:
                    p["nodePort"] = kept
    if needs_health_check(old) and needs_health_check(spec) and not spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = old.get("healthCheckNodePort", 0)


async def allocate_update(al: Allocators, svc: Obj, old: Obj, dry_run: bool) -> Transaction:
    """allocateUpdate: ClusterIPs (type changes) then NodePorts; all or nothing."""
    spec, old_spec = svc.setdefault("spec", {}), old.get("spec", {})
    spec.setdefault("type", "ClusterIP")
    patch_allocated_values(spec, old_spec)
    normalize_cluster_ips(spec, old_spec)
    _check_primary_ip_unchanged(svc, old_spec)
    al.init_ip_family_fields(svc, old)
    txn = Transaction(al)
    try:
        if old_spec.get("type") == "ExternalName" and spec.get("type") != "ExternalName":
            await al._alloc_cluster_ips(svc, txn, dry_run)  # case A: now it needs one
        elif spec.get("type") == "ExternalName":
            txn.release_ips += cluster_ips_held(old_spec)  # case B: it gives its IP up
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(key, None)
        await _update_node_ports(al, svc, old_spec, txn, dry_run)
    except BaseException:
        await txn.finish(False)
        raise
    return txn


def _check_primary_ip_unchanged(svc: Obj, old_spec: Obj) -> None:
    spec = svc["spec"]
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return
    ips, old_ips = spec.get("clusterIPs") or [], old_spec.get("clusterIPs") or []
    if ips and old_ips and ips[0] != old_ips[0]:
        p = vfield.new_path("spec", "clusterIPs").index(0)
        raise _invalid(svc, [vfield.invalid(p, ips[0], "may not change once set")])


async def _update_node_ports(
    al: Allocators, svc: Obj, old_spec: Obj, txn: Transaction, dry_run: bool
) -> None:
    """txnUpdateNodePorts: free ports a type change or a removed port gives up, take new ones."""
    spec = svc["spec"]
    old_ports = collect_node_ports(old_spec) if old_spec.get("type") in NODE_PORT_TYPES else []
    if spec.get("type") not in NODE_PORT_TYPES:
        # dropTypeDependentFields: node ports the old type held go with the type.
        for sp in spec.get("ports") or []:
            if sp.get("nodePort") in old_ports:
                del sp["nodePort"]
    if spec.get("type") in NODE_PORT_TYPES:
        taken: set[int] = set()
        for i, sp in enumerate(spec.get("ports") or []):
            n = sp.get("nodePort") or 0
            if not n and not should_allocate_node_ports(spec):
                continue
            if n and n not in old_ports and n not in taken:
                await al._node_port(svc, i, n, txn, dry_run)
                taken.add(n)
            elif not n:
                sp["nodePort"] = await al._next_node_port(txn, dry_run) or None
                if sp["nodePort"] is None:
                    del sp["nodePort"]
    kept = collect_node_ports(spec) if spec.get("type") in NODE_PORT_TYPES else []
    txn.release_ports += [p for p in old_ports if p not in kept]
    had, needs = needs_health_check(old_spec), needs_health_check(spec)
    if not had and needs:
        await al._alloc_health_check_node_port(spec, txn, dry_run)
    elif had and not needs and old_spec.get("healthCheckNodePort"):
        txn.release_ports.append(old_spec["healthCheckNodePort"])
        spec.pop("healthCheckNodePort", None)
