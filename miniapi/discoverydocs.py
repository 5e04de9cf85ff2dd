"""The discovery documents of the built-in kinds: /api, /apis, /api/v1, /apis/G/V.

Mirrors what k8s.io/apiserver/pkg/endpoints/discovery (root.go, group.go,
version.go) serves for the kinds registered in miniapi.scheme: an
APIResource per resource and per subresource ("pods/status" with its own
verbs and kind), the preferred version of each group, and the legacy /api
document. The API server adds CRD-served groups to these.
Omitted: storageVersionHash, aggregated discovery (apidiscovery.k8s.io/v2).
"""

from __future__ import annotations

from miniapi.meta import v1 as metav1
from miniapi.runtime import GroupVersion, ResourceInfo, Scheme
from miniapi.scheme import SCHEME

__all__ = ["api_group_list", "api_resource_list", "api_versions"]

# Subresource -> (verbs, group, version, kind); "" kind means the parent's kind.
_SUBRESOURCES: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "status": (("get", "patch", "update"), "", "", ""),
    "scale": (("get", "patch", "update"), "autoscaling", "v1", "Scale"),
    "binding": (("create",), "", "", "Binding"),
    "eviction": (("create",), "policy", "v1", "Eviction"),
    "log": (("get",), "", "", "Pod"),
    "exec": (("create", "get"), "", "", "PodExecOptions"),
    "attach": (("create", "get"), "", "", "PodAttachOptions"),
    "portforward": (("create", "get"), "", "", "PodPortForwardOptions"),
    "proxy": (("create", "delete", "get", "patch", "update"), "", "", "NodeProxyOptions"),
    "finalize": (("update",), "", "", ""),
    "token": (("create",), "authentication.k8s.io", "v1", "TokenRequest"),
}


def _resource(info: ResourceInfo) -> metav1.APIResource:
    return metav1.APIResource(
        name=info.resource,
        singular_name=info.singular,
        namespaced=info.namespaced,
        kind=info.gvk.kind,
        verbs=list(info.verbs),
        short_names=list(info.short_names),
        categories=list(info.categories),
    )


def _subresource(info: ResourceInfo, sub: str) -> metav1.APIResource:
    verbs, group, version, kind = _SUBRESOURCES[sub]
    if sub == "proxy" and info.gvk.kind == "Service":
        kind = "ServiceProxyOptions"
    return metav1.APIResource(
        name=f"{info.resource}/{sub}",
        singular_name="",
        namespaced=info.namespaced,
        group=group,
        version=version,
        kind=kind or info.gvk.kind,
        verbs=list(verbs),
    )


def api_resource_list(group_version: str, scheme: Scheme = SCHEME) -> metav1.APIResourceList:
    """GET /api/v1 or /apis/GROUP/VERSION."""
    resources: list[metav1.APIResource] = []
    for info in scheme.resources():
        if str(info.gvk.group_version) != group_version:
            continue
        resources.append(_resource(info))
        resources += [_subresource(info, s) for s in info.subresources if s in _SUBRESOURCES]
    return metav1.APIResourceList(
        api_version="v1", kind="APIResourceList", group_version=group_version, resources=resources
    )


def _group(name: str, versions: list[GroupVersion]) -> metav1.APIGroup:
    found = [
        metav1.GroupVersionForDiscovery(group_version=str(gv), version=gv.version)
        for gv in versions
    ]
    return metav1.APIGroup(name=name, versions=found, preferred_version=found[0])


def api_group_list(scheme: Scheme = SCHEME) -> metav1.APIGroupList:
    """GET /apis: every named group (the legacy core group is served at /api)."""
    by_group: dict[str, list[GroupVersion]] = {}
    for gv in scheme.group_versions():
        if gv.group:
            by_group.setdefault(gv.group, []).append(gv)
    groups = [_group(name, gvs) for name, gvs in sorted(by_group.items())]
    return metav1.APIGroupList(api_version="v1", kind="APIGroupList", groups=groups)


def api_versions(server_address: str) -> metav1.APIVersions:
    """GET /api: the core group's versions and where clients reach the server."""
    cidr = metav1.ServerAddressByClientCIDR(client_cidr="0.0.0.0/0", server_address=server_address)
    return metav1.APIVersions(
        kind="APIVersions", versions=["v1"], server_address_by_client_cidrs=[cidr]
    )
