"""Discovery documents: what /api, /apis and /apis/GROUP/VERSION return.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/types.go (APIVersions, APIGroup,
APIGroupList, GroupVersionForDiscovery, APIResource, APIResourceList,
ServerAddressByClientCIDR). miniapi.discoverydocs builds them from the scheme.
They are written in full (omit_defaults=False): most of their fields have no
omitempty upstream and discovery clients require them.
Omitted: the aggregated discovery v2 format (apidiscovery.k8s.io).
"""

from __future__ import annotations

from miniapi.base import Struct, field

__all__ = [
    "APIGroup",
    "APIGroupList",
    "APIResource",
    "APIResourceList",
    "APIVersions",
    "GroupVersionForDiscovery",
    "ServerAddressByClientCIDR",
]


class ServerAddressByClientCIDR(Struct, frozen=True, kw_only=True):
    """Which server address a client in a CIDR should use."""

    client_cidr: str = field(default="", name="clientCIDR")
    server_address: str = ""


class APIVersions(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """The body of GET /api: the legacy core group's versions."""

    api_version: str | None = None
    kind: str | None = None
    versions: list[str] = []
    server_address_by_client_cidrs: list[ServerAddressByClientCIDR] = field(
        default_factory=list, name="serverAddressByClientCIDRs"
    )


class GroupVersionForDiscovery(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """ "group/version" and the bare version."""

    group_version: str = ""
    version: str = ""


class APIGroup(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A group, its versions and the preferred one."""

    api_version: str | None = None
    kind: str | None = None
    name: str = ""
    versions: list[GroupVersionForDiscovery] = []
    preferred_version: GroupVersionForDiscovery | None = None
    server_address_by_client_cidrs: list[ServerAddressByClientCIDR] = field(
        default_factory=list, name="serverAddressByClientCIDRs"
    )


class APIGroupList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """The body of GET /apis."""

    api_version: str | None = None
    kind: str | None = None
    groups: list[APIGroup] = []


class APIResource(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """One resource of a group version: name, scope, kind, verbs, short names.

    Every field is written even when empty: name, singularName, namespaced,
    kind and verbs have no omitempty upstream and clients insist on them.
    """

    name: str = ""
    singular_name: str = ""
    namespaced: bool = False
    group: str = ""
    version: str = ""
    kind: str = ""
    verbs: list[str] = []
    short_names: list[str] = []
    categories: list[str] = []
    storage_version_hash: str = ""


class APIResourceList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """The body of GET /api/v1 or /apis/GROUP/VERSION."""

    api_version: str | None = None
    kind: str | None = None
    group_version: str = ""
    resources: list[APIResource] = []
