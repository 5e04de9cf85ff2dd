"""The generic registry store: REST semantics of one resource over storage.

Mirrors k8s.io/apiserver/pkg/registry/generic/registry/store.go (Store:
Create, Get, List, Update with GuaranteedUpdate and create-on-update, Watch,
the key functions NamespaceKeyFunc/NoNamespaceKeyFunc, the dry-run paths,
deleting an object whose last finalizer an update removed) with the strategy
hooks of registry/strategy.py and a resource's REST hooks (BeginCreate, BeginUpdate,
AfterDelete: the Service allocators). Every watch and the LISTs cacher/delegator.py
allows go through the Cacher; GETs at a resourceVersion too; the rest read etcd. Deletion lives in registry/delete.py.
Omitted: TTLs, decorators, managedFields.
"""

from __future__ import annotations

import copy
import inspect
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from miniapi import errors
from miniapi.runtime import ResourceInfo
from miniapiserver.admission.attributes import CREATE, UPDATE, Attributes
from miniapiserver.admission.chain import Chain
from miniapiserver.auth.authn import UserInfo
from miniapiserver.cacher.cacher import Cacher, CacheWatcher
from miniapiserver.cacher.watch_cache import UPPER_BOUND_CAPACITY
from miniapiserver.registry import selection, strategy, triggers, typed
from miniapiserver.registry.storeerrors import interpret
from miniapiserver.registry.versioned import VersionedStore
from miniapiserver.storage import errors as serrors
from miniapiserver.storage.etcd3_store import ListResult, Store
from miniapiserver.storage.interfaces import Obj, SelectionPredicate, object_rv

# Upstream's etcd key prefixes where they are not simply the resource name.
KEY_PREFIXES = {
    ("", "nodes"): "minions",
    ("", "services"): "services/specs",
    ("", "endpoints"): "services/endpoints",
    (
        "apiextensions.k8s.io",
        "customresourcedefinitions",
    ): "apiextensions.k8s.io/customresourcedefinitions",
}


DEFAULT_WATCH_CACHE_SIZE = 1000  # --default-watch-cache-size's default


def _upper_bound(capacity: int) -> int:
    """How far a resource's watch cache ring may grow under load.

    From the default size up, the ring sizes itself like upstream's (up to
    UPPER_BOUND_CAPACITY while events are fresh); a smaller size asked for explicitly is
    kept fixed, so that "too old resource version" stays reachable where it is wanted.
    """
    return max(capacity, UPPER_BOUND_CAPACITY) if capacity >= DEFAULT_WATCH_CACHE_SIZE else 0


class DryRun(Exception):
    """Raised inside GuaranteedUpdate to stop before the write and return the object."""

    def __init__(self, obj: Obj) -> None:
        self.obj = obj


class RegistryStore:
    """genericregistry.Store for one resource."""

    def __init__(
        self,
        info: ResourceInfo,
        storage: Store,
        clock: Callable[[], datetime],
        rng: random.Random,
        cache_capacity: int = 1000,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.info = info
        self.storage = storage
        self.clock = clock
        self.rng = rng
        self.gr = info.group_resource
        self.prefix = KEY_PREFIXES.get((info.gvk.group, info.resource), info.resource)
        self.cacher = Cacher(
            storage, self.prefix, self.key_of, cache_capacity,
            bookmark_interval=bookmark_interval, indexed_trigger=triggers.indexed_trigger(info),
            get_attrs=selection.attrs_func(info),
            upper_bound_capacity=_upper_bound(cache_capacity),
        )  # fmt: skip
        # Set by the server: the admission chain API writes go through.
        self.admission: Chain | None = None
        # A resource's REST hooks (BeginCreate, BeginUpdate, AfterDelete upstream): the
        # Service allocators. begin_* return an object whose finish(success) commits or undoes.
        self.rest: RESTHooks | None = None
        # The typed round trip (registry/typed.py); a custom resource's store gets its
        # CRD's schema codec instead (apiextensions/crdinfo.py Codec).
        self.typed: Any = typed
        # Set when the resource is served in versions besides its storage version
        # (registry/versioned.py): the scheme's conversions, or a CRD's converter.
        self.converter: Any = None

    def for_version(self, info: ResourceInfo) -> Any:
        """This store as a request in info's version sees it (itself, in the storage version)."""
        if self.converter is None or info.gvk.version == self.info.gvk.version:
            return self
        return VersionedStore(self, info, self.converter)

    def key(self, namespace: str, name: str) -> str:
        """NamespaceKeyFunc / NoNamespaceKeyFunc: <prefix>/<namespace>/<name> or <prefix>/<name>."""
        if self.info.namespaced:
            return f"{self.prefix}/{namespace}/{name}"
        return f"{self.prefix}/{name}"

    def collection_key(self, namespace: str) -> str:
        if self.info.namespaced and namespace:
            return f"{self.prefix}/{namespace}/"
        return f"{self.prefix}/"

    def key_of(self, obj: Obj) -> str:
        meta = obj.get("metadata", {})
        return self.key(meta.get("namespace", ""), meta.get("name", ""))

    async def get(self, namespace: str, name: str, rv: str = "") -> Obj:
        try:
            if rv:
                if not rv.isdigit():
                    raise errors.new_bad_request(f"invalid resource version: {rv}")
                obj = await self.cacher.get(self.key(namespace, name), int(rv))
            else:
                obj = await self.storage.get(self.key(namespace, name))
        except serrors.StorageError as e:
            raise interpret(e, self.gr, name) from None
        if obj is None:
            raise errors.new_not_found(self.gr, name)
        return obj

    async def list(
        self, namespace: str, pred: SelectionPredicate, rv: str = "", rv_match: str = ""
    ) -> ListResult:
        """From the watch cache or etcd, as cacher/delegator.py decides."""
        if rv_match not in ("", "NotOlderThan", "Exact"):
            raise errors.new_bad_request(f"unknown ResourceVersionMatch value: {rv_match}")
        if rv_match and not rv:
            raise errors.new_bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        if rv and not rv.isdigit():
            raise errors.new_bad_request(f"invalid resource version: {rv}")
        try:
            return await self.cacher.get_list(self.collection_key(namespace), pred, rv, rv_match)
        except serrors.StorageError as e:
            raise interpret(e, self.gr, "") from None

    async def watch(
        self, namespace: str, name: str, pred: SelectionPredicate, rv: str
    ) -> CacheWatcher:
        if rv and not rv.isdigit():
            raise errors.new_bad_request(f"invalid resource version: {rv}")
        # A watch narrowed to one name (fieldSelector metadata.name) watches that key;
        # across all namespaces it stays a collection watch, filtered by the selector.
        exact = name and (namespace or not self.info.namespaced)
        key = self.key(namespace, name) if exact else self.collection_key(namespace)
        try:
            if not rv:
                # Unset: "the most recent", so catch the cache up with etcd first.
                await self.cacher.wait_until_fresh_and_block(await self.storage.current_revision())
            return await self.cacher.watch(key, int(rv or 0), pred)
        except serrors.StorageError as e:
            raise interpret(e, self.gr, "") from None

    def attributes(
        self, op: str, ns: str, name: str, obj: Obj | None, old: Obj | None, user: UserInfo,
        subresource: str = "", dry_run: bool = False,
    ) -> Attributes:  # fmt: skip
        """The admission attributes of one write to this resource."""
        gvk = self.info.gvk
        return Attributes(
            op, gvk.group, gvk.version, gvk.kind, self.info.resource, subresource,
            ns if self.info.namespaced else "", name, obj, old, user, dry_run,
        )  # fmt: skip

    async def create(
        self,
        namespace: str,
        obj: Obj,
        dry_run: bool = False,
        strict: bool = False,
        user: UserInfo | None = None,
    ) -> Obj:
        """Store.Create; with a user, the admission chain runs around validation.

        Order as upstream: defaulting, mutating admission (create handler), BeforeCreate
        (name generation, validation), validating admission (createValidation), the Txn.
        """
        self.typed.check_type_meta(self.info, obj)
        if user is not None and self.admission is not None:
            obj = self.typed.default(self.info, obj, strict)
            attrs = self.attributes(
                CREATE, namespace or obj.get("metadata", {}).get("namespace", ""),
                obj.get("metadata", {}).get("name", ""), obj, None, user, dry_run=dry_run,
            )  # fmt: skip
            await self.admission.admit(attrs)
            obj = attrs.object or obj
            self.typed.check_type_meta(self.info, obj)
        strategy.before_create(self.info, obj, namespace, self.clock(), self.rng)
        name = obj["metadata"].get("name", "")
        if not name:
            errs = _name_required()
            raise errors.new_invalid(self.info.gvk.group, self.info.gvk.kind, "", errs)
        if object_rv(obj):
            raise errors.new_bad_request(
                "resourceVersion should not be set on objects to be created"
            )
        obj = self.typed.normalize(self.info, obj, strict=strict)
        # BeginCreate: after validation here (upstream: before), so allocation reads typed,
        # valid input; validating admission still sees the allocated values.
        txn = await self.rest.begin_create(obj, dry_run) if self.rest is not None else None
        try:
            out = await self._finish_create(obj, name, dry_run, user)
        except BaseException:
            if txn is not None:
                await txn.finish(False)  # a refused create gives back what it was allocated
            raise
        if txn is not None:
            await txn.finish(not dry_run)
        return out

    async def _finish_create(
        self, obj: Obj, name: str, dry_run: bool, user: UserInfo | None
    ) -> Obj:
        """Validating admission and the Txn (or the dry-run answer)."""
        if user is not None and self.admission is not None:
            ns = obj["metadata"].get("namespace", "")
            await self.admission.validate(
                self.attributes(CREATE, ns, name, obj, None, user, dry_run=dry_run)
            )
        if dry_run:
            return obj
        try:
            return await self.storage.create(self.key_of(obj), obj)
        except serrors.StorageError as e:
            if e.code == serrors.ERR_KEY_EXISTS and obj["metadata"].get("generateName"):
                raise errors.new_generate_name_conflict(self.gr, name, 1) from None
            raise interpret(e, self.gr, name) from None

    async def update(
        self,
        namespace: str,
        name: str,
        updater: Callable[[Obj | None], Obj],
        subresource: str = "",
        dry_run: bool = False,
        strict: bool = False,
        user: UserInfo | None = None,
    ) -> tuple[Obj, bool]:
        """GuaranteedUpdate with updater(current) -> new; returns (object, created).

        With a user, mutating admission runs on the updated object before BeforeUpdate
        and validating admission after it (upstream's transformers and updateValidation),
        on every attempt of the optimistic loop.
        """
        allow_create = self.info.gvk.kind in strategy.CREATE_ON_UPDATE_KINDS and not subresource
        created = False
        hooks = self.rest if not subresource else None
        txns: list[Transaction] = []  # the last attempt's allocations (one per retry)

        async def try_update(existing: Obj | None) -> Obj:
            nonlocal created
            new = updater(copy.deepcopy(existing) if existing is not None else None)
            if inspect.isawaitable(
                new
            ):  # a VersionedStore's updater converts (registry/versioned.py)
                new = await new
            self.typed.check_type_meta(self.info, new)
            meta = new.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.new_bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            if existing is None and not allow_create:
                raise errors.new_not_found(self.gr, name)
            op = CREATE if existing is None else UPDATE
            attrs = None
            if user is not None and self.admission is not None:
                attrs = self.attributes(
                    op, namespace, name, self.typed.default(self.info, new, strict), existing,
                    user,
                    subresource, dry_run,
                )  # fmt: skip
                await self.admission.admit(attrs)
                new = attrs.object or new
            if existing is None:
                new.setdefault("metadata", {}).pop("resourceVersion", None)
                strategy.before_create(self.info, new, namespace, self.clock(), self.rng)
                created, new = True, self.typed.normalize(self.info, new, strict=strict)
            else:
                new = self._before_update(new, existing, subresource, strict)
                if hooks is not None:
                    await _undo(txns)  # a lost race retries: the previous attempt's IPs go back
                    txns.append(await hooks.begin_update(new, existing, dry_run))
            if attrs is not None and self.admission is not None:
                attrs.object = new
                await self.admission.validate(attrs)
            if dry_run:
                raise DryRun(new)
            return new

        try:
            key = self.key(namespace, name)
            # The watch cache's copy saves the read (Cacher.GuaranteedUpdate); the store
            # re-reads whenever that copy could be what failed.
            cached = self.cacher.cache.get(key) if self.cacher.ready.is_set() else None
            out = await self.storage.guaranteed_update(
                key, try_update, ignore_not_found=allow_create, cached_existing=cached
            )
        except DryRun as d:
            await _undo(txns)
            return d.obj, created
        except serrors.StorageError as e:
            await _undo(txns)
            raise interpret(e, self.gr, name) from None
        except BaseException:
            await _undo(txns)
            raise
        for txn in txns:
            await txn.finish(True)
        out = await self._delete_if_finalized(out)
        return out, created

    def _before_update(self, new: Obj, existing: Obj, subresource: str, strict: bool) -> Obj:
        """The optimistic-concurrency check, BeforeUpdate, then defaults and ValidateUpdate."""
        rv = new.get("metadata", {}).get("resourceVersion", "")
        if rv and rv != existing["metadata"].get("resourceVersion"):
            raise errors.new_conflict(
                self.gr, existing["metadata"].get("name", ""), errors.OPTIMISTIC_LOCK_ERROR_MSG
            )
        strategy.before_update(self.info, new, existing, subresource)
        return self.typed.normalize(self.info, new, existing, strict)

    async def _delete_if_finalized(self, obj: Obj) -> Obj:
        """An update that removed the last finalizer of a deleting object deletes it."""
        meta = obj.get("metadata", {})
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return obj
        if meta.get("deletionGracePeriodSeconds", 0) and self.info.gvk.kind == "Pod":
            return obj  # a pod waits for its kubelet (grace period) before going away
        if self.info.gvk.kind == "Namespace" and obj.get("spec", {}).get("finalizers"):
            return obj
        try:
            out = await self.storage.delete(self.key_of(obj))
        except serrors.StorageError as e:
            if e.code == serrors.ERR_KEY_NOT_FOUND:
                return obj
            raise interpret(e, self.gr, meta.get("name", "")) from None
        if self.rest is not None:
            await self.rest.after_delete(out)
        return out


class Transaction(Protocol):
    async def finish(self, success: bool) -> None: ...


class RESTHooks(Protocol):
    """What a resource's REST adds around the generic store's writes."""

    async def begin_create(self, obj: Obj, dry_run: bool) -> Transaction: ...
    async def begin_update(self, obj: Obj, old: Obj, dry_run: bool) -> Transaction: ...
    async def after_delete(self, obj: Obj) -> None: ...


async def _undo(txns: list[Transaction]) -> None:
    while txns:
        await txns.pop().finish(False)


def _name_required():  # type: ignore[no-untyped-def]
    from miniapi.validation.field import new_path, required

    return [required(new_path("metadata", "name"), "name or generateName is required")]
