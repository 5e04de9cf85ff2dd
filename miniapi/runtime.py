"""The scheme mechanism: group/version/kind <-> Python type <-> REST resource.

Mirrors k8s.io/apimachinery/pkg/runtime/scheme.go (Scheme, AddKnownTypes,
ObjectKinds, New, the notRegisteredErr messages), runtime/schema
(GroupVersionKind, GroupVersionResource, ParseGroupVersion) and the
RESTMapper role of apimachinery/pkg/api/meta (resource <-> kind, scope,
short names). It is data plus lookups; miniapi/scheme.py fills the default
scheme with the built-in kinds and offers decode/encode.
Omitted: conversion functions and internal versions (each kind here has
exactly one version), field label conversion (see miniapi.fields).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GroupVersion",
    "GroupVersionKind",
    "GroupVersionResource",
    "GroupResource",
    "MissingKindError",
    "MissingVersionError",
    "NotRegisteredError",
    "ResourceInfo",
    "Scheme",
    "parse_group_version",
]


@dataclass(frozen=True, order=True)
class GroupVersion:
    """An API group and version; the core group is ""."""

    group: str
    version: str

    def __str__(self) -> str:
        # schema.GroupVersion.String: the core group prints as just the version.
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True, order=True)
class GroupVersionKind:
    """Names a schema: group, version and kind."""

    group: str
    version: str
    kind: str

    @property
    def group_version(self) -> GroupVersion:
        return GroupVersion(self.group, self.version)

    def __str__(self) -> str:
        return f"{self.group}/{self.version}, Kind={self.kind}"


@dataclass(frozen=True, order=True)
class GroupResource:
    """A resource in a group, e.g. deployments.apps; prints like upstream's String()."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass(frozen=True, order=True)
class GroupVersionResource:
    """Names a REST collection: group, version, resource (plural)."""

    group: str
    version: str
    resource: str

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.resource)


def parse_group_version(api_version: str) -> GroupVersion:
    """schema.ParseGroupVersion: "v1" -> ("", "v1"), "apps/v1" -> ("apps", "v1")."""
    if not api_version or api_version == "/":
        return GroupVersion("", "")
    parts = api_version.split("/")
    if len(parts) == 1:
        return GroupVersion("", parts[0])
    if len(parts) == 2:
        return GroupVersion(parts[0], parts[1])
    raise ValueError(f"unexpected GroupVersion string: {api_version}")


class NotRegisteredError(ValueError):
    """runtime.notRegisteredErr: a kind or type the scheme does not know."""


class MissingKindError(ValueError):
    """runtime.NewMissingKindErr: the document has no kind."""


class MissingVersionError(ValueError):
    """runtime.NewMissingVersionErr: the document has no apiVersion."""


@dataclass(frozen=True)
class ResourceInfo:
    """Everything discovery and the API server need to serve one kind."""

    gvk: GroupVersionKind
    type: type
    list_type: type | None
    resource: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def gvr(self) -> GroupVersionResource:
        return GroupVersionResource(self.gvk.group, self.gvk.version, self.resource)

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.gvk.group, self.resource)


class Scheme:
    """A registry of kinds; lookups by GVK, by Python type and by resource name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._by_gvk: dict[GroupVersionKind, type] = {}
        self._by_type: dict[type, GroupVersionKind] = {}
        self._resources: dict[GroupVersionKind, ResourceInfo] = {}

    def add_known_type(self, gvk: GroupVersionKind, typ: type) -> None:
        """AddKnownTypeWithName: register typ under gvk (types may be bare, like Status)."""
        self._by_gvk[gvk] = typ
        self._by_type.setdefault(typ, gvk)

    def add_resource(self, info: ResourceInfo) -> None:
        """Register a served kind, its list kind and its REST names."""
        self.add_known_type(info.gvk, info.type)
        if info.list_type is not None:
            gvk = info.gvk
            self.add_known_type(
                GroupVersionKind(gvk.group, gvk.version, gvk.kind + "List"), info.list_type
            )
        self._resources[info.gvk] = info

    def new(self, gvk: GroupVersionKind) -> type:
        """The type registered for gvk, or upstream's notRegisteredErr message."""
        typ = self._by_gvk.get(gvk)
        if typ is not None:
            return typ
        gv = gvk.group_version
        if not gvk.kind:
            raise NotRegisteredError(
                f'no version "{gv}" has been registered in scheme "{self.name}"'
            )
        raise NotRegisteredError(
            f'no kind "{gvk.kind}" is registered for version "{gv}" in scheme "{self.name}"'
        )

    def object_kind(self, obj_or_type: object) -> GroupVersionKind:
        """ObjectKinds: the GVK of an object (or type) by its Python type."""
        typ = obj_or_type if isinstance(obj_or_type, type) else type(obj_or_type)
        gvk = self._by_type.get(typ)
        if gvk is None:
            raise NotRegisteredError(
                f'no kind is registered for the type {typ.__module__}.{typ.__qualname__} in scheme "{self.name}"'
            )
        return gvk

    def recognizes(self, gvk: GroupVersionKind) -> bool:
        return gvk in self._by_gvk

    def known_kinds(self) -> list[GroupVersionKind]:
        return sorted(self._by_gvk)

    def resources(self) -> list[ResourceInfo]:
        """Every served resource, ordered by group, version, resource."""
        return sorted(
            self._resources.values(), key=lambda r: (r.gvk.group, r.gvk.version, r.resource)
        )

    def resource_for_kind(self, gvk: GroupVersionKind) -> ResourceInfo:
        info = self._resources.get(gvk)
        if info is None:
            raise NotRegisteredError(
                f'no matches for kind "{gvk.kind}" in version "{gvk.group_version}"'
            )
        return info

    def resource_for(self, group: str, resource: str, version: str | None = None) -> ResourceInfo:
        """Find a resource by plural, singular or short name (RESTMapper.ResourceFor)."""
        for info in self.resources():
            if info.gvk.group != group or (version is not None and info.gvk.version != version):
                continue
            if resource in (info.resource, info.singular) or resource in info.short_names:
                return info
        # meta.NoResourceMatchError prints the partial GroupVersionResource.
        raise NotRegisteredError(f"no matches for {group}/{version or ''}, Resource={resource}")

    def group_versions(self) -> list[GroupVersion]:
        return sorted({r.gvk.group_version for r in self._resources.values()})
