"""Snapshots: the resources the control plane serves, per type, each type with its own version.

Mirrors go-control-plane's pkg/cache/v3/snapshot.go (Snapshot: resources by type URL, a
version per type) and the role of istiod's PushContext: the unit that is pushed. Types are
listed in the order Envoy needs them (CDS, EDS, LDS, RDS: a cluster before its endpoints,
a listener before its routes). `next_snapshot` bumps only the versions of types whose
resources changed, so clients are not sent identical configs again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf import any_pb2

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
ORDER = (CLUSTER, ENDPOINT, LISTENER, ROUTE)
# Types whose empty subscription means "everything" (wildcard), per the xDS protocol.
WILDCARD_TYPES = (CLUSTER, LISTENER)
NAME_FIELD = {CLUSTER: "name", ENDPOINT: "cluster_name", LISTENER: "name", ROUTE: "name"}


@dataclass(frozen=True)
class Snapshot:
    """Immutable: resources[type_url] = {name: Any}; versions[type_url] = version string."""

    resources: dict[str, dict[str, any_pb2.Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def version(self, type_url: str) -> str:
        return self.versions.get(type_url, "")

    def select(self, type_url: str, names: list[str] | None) -> list[any_pb2.Any]:
        """The resources a subscription gets: all (wildcard) or the named ones, sorted by name."""
        by_name = self.resources.get(type_url, {})
        keys = sorted(by_name) if names is None else [n for n in sorted(set(names)) if n in by_name]
        return [by_name[k] for k in keys]


def resource_name(res: any_pb2.Any) -> str:
    """The name a resource is subscribed by (cluster_name for a ClusterLoadAssignment)."""
    from miniproxy.envoy.config import RESOURCE_TYPES

    cls = RESOURCE_TYPES[res.type_url]
    msg = cls()
    res.Unpack(msg)
    return getattr(msg, NAME_FIELD[res.type_url])


def next_snapshot(prev: Snapshot | None, resources: list[any_pb2.Any], counter: int) -> Snapshot:
    """A new snapshot from a flat resource list; types that changed get version str(counter)."""
    by_type: dict[str, dict[str, any_pb2.Any]] = {t: {} for t in ORDER}
    for res in resources:
        if res.type_url not in by_type:
            raise ValueError(f"unsupported resource type {res.type_url}")
        name = resource_name(res)
        if name in by_type[res.type_url]:
            raise ValueError(f"duplicate {res.type_url.rsplit('.', 1)[-1]} resource {name!r}")
        by_type[res.type_url][name] = res
    versions = {}
    for t in ORDER:
        same = prev is not None and _serialized(prev.resources.get(t, {})) == _serialized(
            by_type[t]
        )
        versions[t] = prev.versions[t] if same else str(counter)
    return Snapshot(by_type, versions)


def _serialized(resources: dict[str, any_pb2.Any]) -> dict[str, bytes]:
    return {k: v.SerializeToString(deterministic=True) for k, v in resources.items()}
