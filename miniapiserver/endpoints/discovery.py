"""Discovery documents built from the scheme: /api, /apis, /api/v1, /apis/<g>/<v>.

Mirrors k8s.io/apiserver/pkg/endpoints/discovery (legacy.go: APIVersions for
/api; root.go: APIGroupList for /apis; group.go: APIGroup; version.go:
APIResourceList) and the APIResource entries endpoints/installer.go
registers, subresources included (`pods/status`, `deployments/scale`), and the
create-only access reviews of authorization.k8s.io and authentication.k8s.io.
Versions of a group are listed in upstream's priority order (preferred first). Pure:
the scheme in, documents out. Omitted: aggregated discovery
(apidiscovery.k8s.io/v2; kubectl falls back to these legacy documents),
storageVersionHash.
"""

from __future__ import annotations

import re

from miniapi.meta.v1 import (
    APIGroup,
    APIGroupList,
    APIResource,
    APIResourceList,
    APIVersions,
    GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
)
from miniapi.runtime import ResourceInfo, Scheme
from miniapiserver.auth.reviews import REVIEWS

# Subresources this server serves: name -> (group, version, kind or "" for the parent's, verbs).
SUBRESOURCES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "status": ("", "", "", ("get", "patch", "update")),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "binding": ("", "", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
}


def served_resources(scheme: Scheme) -> list[ResourceInfo]:
    """Resources with a REST collection (Binding is only a pod subresource here)."""
    return [r for r in scheme.resources() if r.list_type is not None]


def api_versions(server_address: str) -> APIVersions:
    cidr = ServerAddressByClientCIDR(client_cidr="0.0.0.0/0", server_address=server_address)
    return APIVersions(kind="APIVersions", versions=["v1"], server_address_by_client_cidrs=[cidr])


_KUBE_VERSION = re.compile(r"^v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?$")


def version_priority(version: str) -> tuple:
    """CompareKubeAwareVersionStrings as a sort key: GA before beta before alpha, higher
    numbers first, then anything else alphabetically (apimachinery/pkg/version/helpers.go)."""
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), version)


def _group(name: str, versions: list[str]) -> APIGroup:
    """The group's versions, preferred first (a group lists v1 before v1beta2)."""
    ordered = sorted(versions, key=version_priority)
    gvs = [GroupVersionForDiscovery(group_version=f"{name}/{v}", version=v) for v in ordered]
    return APIGroup(
        kind="APIGroup", api_version="v1", name=name, versions=gvs, preferred_version=gvs[0]
    )


def api_group_list(scheme: Scheme) -> APIGroupList:
    versions: dict[str, set[str]] = {}
    for r in served_resources(scheme):
        if r.gvk.group:
            versions.setdefault(r.gvk.group, set()).add(r.gvk.version)
    for group, _ in REVIEWS:
        versions.setdefault(group, set()).add("v1")
    groups = [_group(g, sorted(v)) for g, v in sorted(versions.items())]
    return APIGroupList(kind="APIGroupList", api_version="v1", groups=groups)


def api_group(scheme: Scheme, group: str) -> APIGroup | None:
    versions = {r.gvk.version for r in served_resources(scheme) if r.gvk.group == group}
    versions |= {"v1" for g, _ in REVIEWS if g == group}
    return _group(group, sorted(versions)) if versions and group else None


def _entry(r: ResourceInfo) -> APIResource:
    return APIResource(
        name=r.resource,
        singular_name=r.singular,
        namespaced=r.namespaced,
        kind=r.gvk.kind,
        verbs=sorted(r.verbs),
        short_names=list(r.short_names),
        categories=list(r.categories),
    )


def _subresource_entries(r: ResourceInfo) -> list[APIResource]:
    out = []
    for sub in r.subresources:
        if sub not in SUBRESOURCES:
            continue
        group, version, kind, verbs = SUBRESOURCES[sub]
        out.append(
            APIResource(
                name=f"{r.resource}/{sub}",
                namespaced=r.namespaced,
                group=group,
                version=version,
                kind=kind or r.gvk.kind,
                verbs=list(verbs),
            )
        )
    return out


def api_resource_list(scheme: Scheme, group: str, version: str) -> APIResourceList | None:
    resources = [
        r for r in served_resources(scheme) if r.gvk.group == group and r.gvk.version == version
    ]
    reviews = sorted((res, kind) for (g, res), kind in REVIEWS.items() if g == group)
    if version != "v1":
        reviews = []
    if not resources and not reviews:
        return None
    entries: list[APIResource] = []
    for r in sorted(resources, key=lambda r: r.resource):
        entries.append(_entry(r))
        entries.extend(_subresource_entries(r))
    for res, kind in reviews:  # never stored: create is the only verb
        entries.append(
            APIResource(
                name=res, singular_name=res[:-1], namespaced=False, kind=kind, verbs=["create"]
            )
        )
    gv = f"{group}/{version}" if group else version
    return APIResourceList(
        kind="APIResourceList", api_version="v1", group_version=gv, resources=entries
    )
