"""Which endpoints a service port may use on this node, for Cluster and Local policy.

Mirrors k8s.io/kubernetes pkg/proxy/topology.go (CategorizeEndpoints,
topologyModeFromHints, availableForTopology). Usable means Ready; when no endpoint is
Ready, Serving+Terminating endpoints are used instead (independently for Cluster and
Local). Omitted: the PreferSameNode mode (node hints) behind its feature gate.
"""

from __future__ import annotations

from typing import NamedTuple

from miniproxy.kubeproxy.types import EndpointInfo, ServicePortInfo

PREFER_SAME_ZONE = "PreferSameZone"


class Categorized(NamedTuple):
    """The four results of CategorizeEndpoints (a tuple: built once per service per sync)."""

    cluster: list[EndpointInfo]
    local: list[EndpointInfo]
    all_reachable: list[EndpointInfo]
    has_any: bool


def topology_mode_from_hints(endpoints: list[EndpointInfo], zone: str) -> str:
    """PreferSameZone when every ready endpoint has zone hints and one names our zone."""
    ready = [ep for ep in endpoints if ep.ready]
    if not ready:
        return ""
    if all(ep.zone_hints for ep in ready) and any(zone in ep.zone_hints for ep in ready):
        return PREFER_SAME_ZONE
    return ""


def _available_for_topology(ep: EndpointInfo, mode: str, zone: str) -> bool:
    return mode == "" or (mode == PREFER_SAME_ZONE and zone in ep.zone_hints)


def _cluster_endpoints(endpoints: list[EndpointInfo], zone: str) -> tuple[list[EndpointInfo], str]:
    mode = topology_mode_from_hints(endpoints, zone)
    chosen = [ep for ep in endpoints if ep.ready and _available_for_topology(ep, mode, zone)]
    if not chosen:
        # No ready endpoint anywhere (topology already fell back): use terminating ones.
        chosen = [ep for ep in endpoints if ep.serving and ep.terminating]
    return chosen, mode


def _local_endpoints(endpoints: list[EndpointInfo]) -> tuple[list[EndpointInfo], bool, bool]:
    """Local endpoints, whether any usable endpoint exists, whether terminating were used."""
    has_any = any(ep.ready or (ep.serving and ep.terminating) for ep in endpoints)
    local_ready = [ep for ep in endpoints if ep.is_local and ep.ready]
    if local_ready:
        return local_ready, has_any, False
    local_term = [ep for ep in endpoints if ep.is_local and ep.serving and ep.terminating]
    return local_term, has_any, bool(local_term)


_NONE = Categorized([], [], [], False)


def categorize_endpoints(
    endpoints: list[EndpointInfo], svc: ServicePortInfo, zone: str = ""
) -> Categorized:
    """CategorizeEndpoints: cluster, local, all locally reachable, and has-any."""
    return categorize(endpoints, svc.uses_cluster_endpoints(), svc.uses_local_endpoints(), zone)


def categorize(
    endpoints: list[EndpointInfo], uses_cluster: bool, uses_local: bool, zone: str
) -> Categorized:
    """CategorizeEndpoints given the service's policies (which port_info.py precomputes).

    Runs for every service on every full sync, so the common case (Cluster policy, every
    endpoint ready, no zone hints) is answered by the list's own `all_ready` when the
    tracker made an EndpointList, by a single loop otherwise."""
    if not endpoints:
        return _NONE
    if uses_cluster and not uses_local:
        ready = getattr(endpoints, "all_ready", None)
        if ready is None:
            ready = all(ep.ready and not ep.zone_hints for ep in endpoints)
        if ready:
            return Categorized(endpoints, [], endpoints, True)
    cluster: list[EndpointInfo] = []
    mode = ""
    has_any = False
    if uses_cluster:
        cluster, mode = _cluster_endpoints(endpoints, zone)
        has_any = bool(cluster)
    if not uses_local:
        return Categorized(cluster, [], cluster, has_any)
    local, has_any_local, used_terminating = _local_endpoints(endpoints)
    has_any = has_any or has_any_local
    if not uses_cluster:
        return Categorized([], local, local, has_any)
    if mode == "" and not used_terminating:
        # cluster then holds every ready endpoint, a superset of the local ones.
        return Categorized(cluster, local, cluster, has_any)
    merged = {str(ep): ep for ep in cluster}
    merged.update({str(ep): ep for ep in local})
    # Upstream iterates a Go map here; we sort so that rendering is deterministic.
    return Categorized(cluster, local, [merged[k] for k in sorted(merged)], has_any)
