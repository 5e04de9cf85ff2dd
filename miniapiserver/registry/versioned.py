"""A resource served in a version other than its storage version.

Mirrors what the REST handlers and the storage codec do around one registry upstream:
k8s.io/apiserver/pkg/endpoints/handlers (the request scope's Convertor: a request body is
decoded and defaulted in its own version, converted for storage; every answer, list and
watch event is converted back to the request's version) and the versioning codec of
apimachinery/pkg/runtime/serializer/versioning (objects are stored in the storage version,
whatever version wrote them). `VersionedStore` wraps the one RegistryStore of a resource
for one served version; a `VersionConverter` does the conversion: the scheme's
(`SchemeConverter`, built-ins) or a CRD's (apiextensions/conversion.py).
Omitted: conversion of the object a graceful or finalizer DELETE returns (it is answered
in the storage version).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from miniapi import errors, scheme
from miniapi.conversion import ConversionError
from miniapi.defaults import set_defaults
from miniapi.runtime import GroupVersionKind, ResourceInfo
from miniapiserver.auth.authn import UserInfo
from miniapiserver.registry import typed
from miniapiserver.storage.etcd3_store import ListResult
from miniapiserver.storage.interfaces import BOOKMARK, ERROR, Event, Obj, SelectionPredicate


class VersionConverter(Protocol):
    """How a resource's objects move between its served versions."""

    def prepare(self, info: ResourceInfo, obj: Any, strict: bool = False) -> Obj:
        """A request body in info's version: checked, pruned and defaulted in that version
        (strict: fieldValidation=Strict refuses unknown fields)."""
        ...

    async def convert(self, objs: list[Obj], api_version: str, is_list: bool = False) -> list[Obj]:
        """Every object in api_version (a StatusError when that cannot be done); is_list
        when they are a list's items (or a watch batch)."""
        ...


def api_version_of(gvk: GroupVersionKind) -> str:
    return f"{gvk.group}/{gvk.version}" if gvk.group else gvk.version


class SchemeConverter:
    """Built-in kinds: decode in the object's version (with that version's defaults),
    ConvertToVersion through the internal version, encode in the target version."""

    def prepare(self, info: ResourceInfo, obj: Any, strict: bool = False) -> Obj:
        return typed.default(info, typed.check_type_meta(info, obj), strict)

    async def convert(self, objs: list[Obj], api_version: str, is_list: bool = False) -> list[Obj]:
        return [self.convert_one(o, api_version) for o in objs]

    @staticmethod
    def convert_one(obj: Obj, api_version: str) -> Obj:
        if obj.get("apiVersion") == api_version:
            return obj
        group, _, version = api_version.rpartition("/")
        dst = scheme.SCHEME.new(GroupVersionKind(group, version, obj.get("kind", "")))
        try:
            out = scheme.CONVERTER.convert_to_version(set_defaults(typed.to_typed(obj)), dst)
        except ConversionError as e:
            raise errors.new_internal_error(e) from None
        return scheme.encode(out)


class VersionedStore:
    """One served version of a resource over the RegistryStore of its storage version.

    What handlers do not find here (key, gr, storage, cacher, admission...) is the
    storage version's store itself.
    """

    def __init__(self, store: Any, info: ResourceInfo, converter: VersionConverter) -> None:
        self.store, self.request_info, self.converter = store, info, converter
        self.api_version = api_version_of(info.gvk)
        self.storage_api_version = api_version_of(store.info.gvk)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def _out(self, obj: Obj) -> Obj:
        return (await self.converter.convert([obj], self.api_version))[0]

    async def _in(self, obj: Any, strict: bool) -> Obj:
        obj = self.converter.prepare(self.request_info, obj, strict)
        return (await self.converter.convert([obj], self.storage_api_version))[0]

    async def get(self, namespace: str, name: str, rv: str = "") -> Obj:
        return await self._out(await self.store.get(namespace, name, rv))

    async def list(
        self, namespace: str, pred: SelectionPredicate, rv: str = "", rv_match: str = ""
    ) -> ListResult:
        result = await self.store.list(namespace, pred, rv, rv_match)
        items = await self.converter.convert(result.items, self.api_version, is_list=True)
        return dataclasses.replace(result, items=items)

    async def watch(
        self, namespace: str, name: str, pred: SelectionPredicate, rv: str
    ) -> ConvertingWatcher:
        inner = await self.store.watch(namespace, name, pred, rv)
        return ConvertingWatcher(inner, self.store.cacher, self.converter, self.api_version)

    async def create(
        self, namespace: str, obj: Obj, dry_run: bool = False, strict: bool = False,
        user: UserInfo | None = None,
    ) -> Obj:  # fmt: skip
        stored = await self._in(obj, strict)
        return await self._out(await self.store.create(namespace, stored, dry_run, strict, user))

    async def update(
        self, namespace: str, name: str, updater: Any, subresource: str = "",
        dry_run: bool = False, strict: bool = False, user: UserInfo | None = None,
    ) -> tuple[Obj, bool]:  # fmt: skip
        """The updater sees, and returns, the request's version; storage gets its own."""

        async def in_storage_version(current: Obj | None) -> Obj:
            shown = await self._out(current) if current is not None else None
            return await self._in(updater(shown), strict)

        out, created = await self.store.update(
            namespace, name, in_storage_version, subresource, dry_run, strict, user
        )
        return await self._out(out), created


class ConvertingWatcher:
    """A cache watcher whose events come out in the request's version.

    A conversion failure ends the watch with an ERROR event carrying its Status.
    """

    def __init__(self, inner: Any, cacher: Any, converter: VersionConverter, api_version: str):
        self.inner, self.cacher = inner, cacher
        self.converter, self.api_version = converter, api_version
        self.failed = False

    async def next_batch(
        self, most: int = 512, linger: float = 0.0, busy_until: float = 0.0
    ) -> list[Event]:
        if self.failed:
            return []
        batch = await self.inner.next_batch(most, linger, busy_until)
        objects = [ev.object for ev in batch if ev.type not in (ERROR, BOOKMARK)]
        try:
            converted = iter(await self.converter.convert(objects, self.api_version, True))
        except errors.StatusError as e:
            self.failed = True
            return [Event(ERROR, scheme.encode(scheme.with_type_meta(e.status)))]
        return [
            ev if ev.type in (ERROR, BOOKMARK) else Event(ev.type, next(converted), ev.rv)
            for ev in batch
        ]

    def stop(self) -> None:
        self.inner.stop()
        self.cacher.watchers.discard(self.inner)
