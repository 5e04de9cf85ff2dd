"""Serve the custom resources of every established CustomResourceDefinition.

Mirrors k8s.io/apiextensions-apiserver/pkg/apiserver/customresource_handler.go
(crdHandler: a storage per CRD, rebuilt when the CRD changes, dropped when it
goes), pkg/controller/status/naming_controller.go (NamesAccepted, acceptedNames),
pkg/controller/establish (Established), pkg/controller/finalizer/crd_finalizer.go
(the customresourcecleanup.apiextensions.k8s.io finalizer: delete every custom
resource, then release the CRD) and the discovery controller (served versions
listed by /apis). One asyncio task follows the CRDs through the watch cache.
Omitted: the Terminating/InstanceDeletionInProgress conditions, NonStructuralSchema
and KubernetesAPIApprovalPolicyConformant conditions, list-kind and short-name
conflicts, re-checking rejected names when a conflicting CRD goes; the finalizer
removes custom resources straight from storage (it does not wait for their own
finalizers as upstream's DELETE-based cleanup does).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections.abc import Callable
from datetime import datetime

from miniapi import errors
from miniapi.meta.v1 import format_time
from miniapi.runtime import ResourceInfo, Scheme
from miniapiserver.apiextensions.conversion import WebhookConverter
from miniapiserver.apiextensions.crdinfo import Codec, CRDInfo, new_crd_info
from miniapiserver.apiextensions.structural import CRDCodec
from miniapiserver.registry.store import RegistryStore
from miniapiserver.storage import errors as serrors
from miniapiserver.storage.etcd3_store import Store
from miniapiserver.storage.interfaces import SelectionPredicate

log = logging.getLogger(__name__)

CRD_STORE = "apiextensions.k8s.io/customresourcedefinitions"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class ServingScheme(Scheme):
    """The built-in scheme plus the served custom resource versions (for discovery/routing)."""

    def __init__(self, base: Scheme, handler: CRDHandler) -> None:
        super().__init__(base.name)
        self.base, self.handler = base, handler

    def resources(self) -> list[ResourceInfo]:
        custom = [i for c in self.handler.crds.values() for i in c.versions.values() if i.verbs]
        return self.base.resources() + custom


class CRDHandler:
    """crdHandler + the naming, establishing and finalizing controllers."""

    def __init__(
        self,
        stores: dict[str, RegistryStore],
        storage: Store,
        clock: Callable[[], datetime],
        rng: random.Random,
        cache_capacity: int = 1000,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.stores, self.storage, self.clock, self.rng = stores, storage, clock, rng
        self.cache_capacity, self.bookmark_interval = cache_capacity, bookmark_interval
        self.crds: dict[str, CRDInfo] = {}  # CRD name -> what it serves
        self.owned: set[str] = set()  # the stores-map keys of the stores made here
        self.task: asyncio.Task | None = None

    def serving_scheme(self, base: Scheme) -> ServingScheme:
        return ServingScheme(base, self)

    @property
    def crd_store(self) -> RegistryStore:
        return self.stores[CRD_STORE]

    async def start(self) -> None:
        """Serve the CRDs already stored, then follow their changes."""
        self.crd_store.typed = CRDCodec()  # CRD writes: structural schemas only
        rv = await self._relist()
        self.task = asyncio.create_task(self._run(rv))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _relist(self) -> int:
        listed = await self.crd_store.list("", SelectionPredicate())
        names = {c["metadata"]["name"] for c in listed.items}
        for gone in [n for n in self.crds if n not in names]:
            await self.remove(gone)
        for crd in listed.items:
            await self._sync_logged(crd)
        return listed.resource_version

    async def _run(self, rv: int) -> None:
        """The informer loop: watch from rv; a dropped or expired watch relists (410)."""
        while True:
            try:
                watcher = await self.crd_store.watch("", "", SelectionPredicate(), str(rv))
            except errors.StatusError:
                await asyncio.sleep(0.1)
                rv = await self._relist()
                continue
            try:
                rv = await self._follow(watcher, rv)
            finally:
                watcher.stop()
                self.crd_store.cacher.watchers.discard(watcher)

    async def _follow(self, watcher, rv: int) -> int:  # type: ignore[no-untyped-def]
        while True:
            batch = await watcher.next_batch()
            if not batch:
                return rv  # the cache dropped us: watch again from what we saw
            for ev in batch:
                rv = max(rv, ev.rv)
                if ev.type == "DELETED":
                    await self.remove(ev.object["metadata"]["name"])
                elif ev.type in ("ADDED", "MODIFIED"):
                    await self._sync_logged(ev.object)

    async def _sync_logged(self, crd: dict) -> None:
        try:
            await self.sync(crd)
        except Exception:  # one bad CRD must not stop serving the others
            log.exception("syncing CRD %s", crd.get("metadata", {}).get("name"))

    async def sync(self, crd: dict) -> None:
        """Serve (or re-serve) one CRD; clean it up when it is being deleted."""
        name = crd["metadata"]["name"]
        if crd["metadata"].get("deletionTimestamp"):
            await self._finalize(crd)
            return
        accepted, reason, message = self._names_accepted(crd)
        if not accepted:
            await self._write_status(crd, False, reason, message)
            return
        info = new_crd_info(_with_accepted_names(crd))
        if not info.versions:
            return
        await self._install(info)
        self.crds[name] = info
        await self._write_status(crd, True, "NoConflicts", "no conflicts found")

    def _names_accepted(self, crd: dict) -> tuple[bool, str, str]:
        """naming_controller: plural and kind must be unique within the group."""
        spec, me = crd["spec"], crd["metadata"]["name"]
        names = spec.get("names", {})
        if _store_key(crd) in self.stores and _store_key(crd) not in self.owned:
            # a built-in resource already lives there; never replace its storage
            return False, "PluralConflict", f'"{names.get("plural")}" is already in use'
        for other_name, other in self.crds.items():
            if other_name == me or other.group != spec.get("group"):
                continue
            theirs = other.crd.get("status", {}).get("acceptedNames", {})
            if names.get("plural") == theirs.get("plural"):
                return False, "PluralConflict", f'"{names.get("plural")}" is already in use'
            if names.get("kind") == theirs.get("kind"):
                return False, "KindConflict", f'"{names.get("kind")}" is already in use'
        return True, "NoConflicts", "no conflicts found"

    async def _install(self, info: CRDInfo) -> None:
        """A RegistryStore at /registry/<group>/<plural> with the CRD's codec (one per CRD)."""
        key = f"{info.group}/{info.storage_info.resource}"
        store = self.stores.get(key)
        if store is None:
            store = RegistryStore(
                info.storage_info, self.storage, self.clock, self.rng,
                self.cache_capacity, self.bookmark_interval,
            )  # fmt: skip
            store.prefix = f"{info.group}/{info.storage_info.resource}"
            store.cacher.resource_prefix = store.prefix + "/"
            store.admission = self.crd_store.admission
            store.cacher.start()
            await store.cacher.ready.wait()
            self.stores[key] = store
            self.owned.add(key)
        store.info = info.storage_info
        store.typed = Codec(info)
        # Strategy None keeps the nopConverter path of crdinfo.py; Webhook converts through
        # a VersionedStore (registry/versioned.py) for every non-storage version.
        strategy = (info.spec.get("conversion") or {}).get("strategy")
        store.converter = (
            WebhookConverter(info, self.stores, self.rng) if strategy == "Webhook" else None
        )

    async def _write_status(self, crd: dict, accepted: bool, reason: str, message: str) -> None:
        """NamesAccepted and Established conditions, acceptedNames and storedVersions."""
        now = format_time(self.clock())
        status = copy.deepcopy(crd.get("status") or {})
        conds = status.get("conditions") or []
        _set_condition(conds, "NamesAccepted", accepted, reason, message, now)
        if not accepted and not any(c.get("type") == "Established" for c in conds):
            _set_condition(conds, "Established", False, "NotAccepted",
                           "not all names are accepted", now)  # fmt: skip
        if accepted:
            _set_condition(conds, "Established", True, "InitialNamesAccepted",
                           "the initial names have been accepted", now)  # fmt: skip
            status["acceptedNames"] = crd["spec"].get("names", {})
            storage = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
            stored = status.get("storedVersions") or []
            status["storedVersions"] = stored + ([storage] if storage not in stored else [])
        status["conditions"] = conds
        name = crd["metadata"]["name"]
        if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            await self._update(name, _add_finalizer, "")
        if status != crd.get("status"):
            await self._update(name, lambda c: {**c, "status": status}, "status")

    async def _update(self, name: str, change: Callable[[dict], dict], sub: str) -> None:
        def updater(current: dict | None) -> dict:
            if current is None:
                raise errors.new_not_found(self.crd_store.gr, name)
            return change(current)

        try:
            await self.crd_store.update("", name, updater, sub)
        except errors.StatusError as e:
            if e.code != 404:
                raise

    async def _finalize(self, crd: dict) -> None:
        """crd_finalizer: stop serving, delete every custom resource, drop the finalizer."""
        name = crd["metadata"]["name"]
        info = self.crds.pop(name, None)
        key = _store_key(crd)
        if info is not None or key not in self.stores:
            # Ours (or nothing is served there after a restart): its objects go. A CRD
            # that never got past naming must not touch a built-in resource's storage.
            await self._drop(key)
        if CLEANUP_FINALIZER in (crd["metadata"].get("finalizers") or []):
            await self._update(name, _remove_finalizer, "")

    async def _drop(self, key: str) -> None:
        """Stop serving <group>/<plural> and delete every object stored under it."""
        store = self.stores.pop(key, None) if key in self.owned else None
        self.owned.discard(key)
        if store is not None:
            await store.cacher.stop()
        listed = await self.storage.get_list(key + "/", SelectionPredicate())
        for obj in listed.items:
            meta = obj.get("metadata", {})
            ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
            try:
                await self.storage.delete(f"{key}/{ns}{meta.get('name', '')}")
            except serrors.StorageError as e:
                if e.code != serrors.ERR_KEY_NOT_FOUND:
                    raise

    async def remove(self, name: str) -> None:
        """The CRD is gone (its finalizer released): nothing of it is served any more."""
        info = self.crds.pop(name, None)
        if info is not None:
            await self._drop(f"{info.group}/{info.storage_info.resource}")


def _store_key(crd: dict) -> str:
    """<group>/<plural>: the stores-map key and the etcd prefix of a CRD's objects."""
    spec = crd.get("spec", {})
    return f"{spec.get('group', '')}/{spec.get('names', {}).get('plural', '')}"


def _with_accepted_names(crd: dict) -> dict:
    out = dict(crd)
    out["status"] = {**(crd.get("status") or {}), "acceptedNames": crd["spec"].get("names", {})}
    return out


def _set_condition(conds: list, type_: str, ok: bool, reason: str, msg: str, now: str) -> None:
    status = "True" if ok else "False"
    for c in conds:
        if c.get("type") == type_:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=msg)
            return
    conds.append({"type": type_, "status": status, "lastTransitionTime": now,
                  "reason": reason, "message": msg})  # fmt: skip


def _add_finalizer(crd: dict) -> dict:
    meta = crd["metadata"]
    meta["finalizers"] = (meta.get("finalizers") or []) + [CLEANUP_FINALIZER]
    return crd


def _remove_finalizer(crd: dict) -> dict:
    meta = crd["metadata"]
    meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CLEANUP_FINALIZER]
    return crd
