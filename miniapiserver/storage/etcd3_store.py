"""storage.Interface over the etcd v3 API.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/store.go: keys are
`<prefix>/<resource>/<namespace>/<name>`, an object's resourceVersion is its
key's mod_revision (never stored in the value), Create is a Txn guarded by
create_revision == 0, GuaranteedUpdate and Delete are Txns guarded by the
mod_revision they read (retrying on a lost race), and GetList reads one
revision page by page with continue tokens. Values are JSON (upstream's
`--storage-media-type=application/json`), passed through the value transformer
configured for the resource (encryption at rest, storage/value) with the key as
authenticated data; an object read through a stale transformer is re-written on
its next update even if unchanged. Omitted: TTL leases, the stale-cache short-cuts of
cachedExistingObject.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import grpc
import msgspec

from miniapiserver.etcd.client import (
    Client,
    EtcdError,
    compare_mod_revision,
    compare_not_found,
    op_delete,
    op_get,
    op_put,
    prefix_end,
)
from miniapiserver.storage import errors
from miniapiserver.storage.continue_token import decode_continue, encode_continue
from miniapiserver.storage.etcd3_watcher import watch_range
from miniapiserver.storage.feature import supports_request_watch_progress
from miniapiserver.storage.interfaces import (
    EVERYTHING,
    Obj,
    Preconditions,
    SelectionPredicate,
    object_rv,
    set_object_rv,
)
from miniapiserver.storage.value.transformer import Transformer

MAX_LIMIT = 10000  # the most a filtered page grows to per etcd round trip

_encoder = msgspec.json.Encoder()


def encode(obj: Obj) -> bytes:
    """The stored form: JSON without resourceVersion (PrepareObjectForStorage)."""
    meta = obj.get("metadata", {})
    rv = meta.pop("resourceVersion", None)
    try:
        return _encoder.encode(obj)
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def decode(data: bytes, rev: int) -> Obj:
    obj = msgspec.json.decode(data)
    set_object_rv(obj, rev)
    return obj


@dataclass
class ListResult:
    """A page of a LIST: items, the revision it was read at, and the paging fields."""

    items: list[Obj]
    resource_version: int
    continue_: str = ""
    remaining_item_count: int | None = None


def check_preconditions(key: str, pre: Preconditions | None, obj: Obj) -> None:
    """storage.Preconditions.Check: a failed precondition is a Conflict."""
    if pre is None:
        return
    meta = obj.get("metadata", {})
    if pre.uid is not None and pre.uid != meta.get("uid"):
        msg = (
            f"Precondition failed: UID in precondition: {pre.uid}, "
            f"UID in object meta: {meta.get('uid', '')}"
        )
        raise errors.StorageError(errors.ERR_INVALID_OBJ, key, msg)
    if pre.resource_version is not None and pre.resource_version != meta.get("resourceVersion"):
        msg = (
            f"Precondition failed: ResourceVersion in precondition: {pre.resource_version}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion', '')}"
        )
        raise errors.StorageError(errors.ERR_INVALID_OBJ, key, msg)


class Store:
    """One etcd3 store shared by every resource (keys carry the resource)."""

    def __init__(
        self,
        client: Client,
        prefix: str = "/registry",
        transformers: dict[str, Transformer] | None = None,
    ) -> None:
        self.client = client
        self.path_prefix = prefix.rstrip("/") + "/"
        # resource key prefix ("secrets", "services/specs") -> its transformer
        self.transformers = {
            (self.path_prefix + p.strip("/") + "/").encode(): t
            for p, t in (transformers or {}).items()
        }
        self._progress_ordered: bool | None = None

    async def request_watch_progress_supported(self) -> bool:
        """Whether a progress answer never runs ahead of the watch's events (feature.py)."""
        if self._progress_ordered is None:
            try:
                version = (await self.client.status()).version
            except EtcdError:
                return False  # not cached: asked again by the next watch
            self._progress_ordered = supports_request_watch_progress(version)
        return self._progress_ordered

    def _transformer(self, k: bytes) -> Transformer | None:
        for prefix, t in self.transformers.items():
            if k.startswith(prefix):
                return t
        return None

    def from_storage(self, k: bytes, value: bytes) -> tuple[bytes, bool]:
        """The object's bytes and whether they were read with a non-writing transformer."""
        t = self._transformer(k)
        return t.transform_from_storage(value, k) if t else (value, False)

    def to_storage(self, k: bytes, data: bytes) -> bytes:
        t = self._transformer(k)
        return t.transform_to_storage(data, k) if t else data

    def decode_kv(self, k: bytes, value: bytes, rev: int) -> Obj:
        return decode(self.from_storage(k, value)[0], rev)

    def prepare_key(self, key: str) -> bytes:
        parts = key.strip("/").split("/")
        if not key.strip("/") or any(p in (".", "..", "") for p in parts):
            raise errors.bad_request(f"invalid key: {key!r}")
        return (self.path_prefix + "/".join(parts)).encode()

    async def current_revision(self) -> int:
        resp = await self.client.get(self.path_prefix.encode() + b"\x00")
        return resp.header.revision

    async def get(self, key: str, ignore_not_found: bool = False) -> Obj | None:
        k = self.prepare_key(key)
        resp = await self.client.get(k)
        if not resp.kvs:
            if ignore_not_found:
                return None
            raise errors.key_not_found(k.decode())
        return self.decode_kv(k, resp.kvs[0].value, resp.kvs[0].mod_revision)

    async def create(self, key: str, obj: Obj) -> Obj:
        if object_rv(obj):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        k = self.prepare_key(key)
        data = encode(obj)
        resp = await self.client.txn([compare_not_found(k)], [op_put(k, self.to_storage(k, data))])
        if not resp.succeeded:
            raise errors.key_exists(k.decode())
        return decode(data, resp.responses[0].response_put.header.revision)

    async def _state(self, k: bytes, ignore_not_found: bool) -> tuple[Obj | None, int, bytes, bool]:
        resp = await self.client.get(k)
        return self._state_from(k, resp, ignore_not_found)

    def _state_from(  # type: ignore[no-untyped-def]
        self, k: bytes, resp, ignore_not_found: bool
    ) -> tuple[Obj | None, int, bytes, bool]:
        """(object, mod_revision, its untransformed bytes, stale) of a read key."""
        if not resp.kvs:
            if not ignore_not_found:
                raise errors.key_not_found(k.decode())
            return None, 0, b"", False
        kv = resp.kvs[0]
        data, stale = self.from_storage(k, kv.value)
        return decode(data, kv.mod_revision), kv.mod_revision, data, stale

    async def guaranteed_update(
        self,
        key: str,
        try_update,  # type: ignore[no-untyped-def]
        preconditions: Preconditions | None = None,
        ignore_not_found: bool = False,
        cached_existing: Obj | None = None,
    ) -> Obj:
        """Read, apply try_update(current) and write back only if nobody wrote in between.

        try_update receives the current object (None when absent and
        ignore_not_found) and returns the new one, or raises to abort. A lost
        race re-reads and calls try_update again, like upstream's loop.
        cached_existing is the watch cache's copy (Cacher.GuaranteedUpdate's
        cachedExistingObject): tried first without a read; whenever it may be what
        made a step fail or a no-op, the key is read and the step tried again
        (origStateIsCurrent).
        """
        k = self.prepare_key(key)
        if cached_existing is not None:
            obj, rev, data, stale = cached_existing, object_rv(cached_existing), b"", False
            data, current = encode(cached_existing), False
        else:
            (obj, rev, data, stale), current = await self._state(k, ignore_not_found), True
        while True:
            try:
                if obj is not None:
                    check_preconditions(k.decode(), preconditions, obj)
                new = try_update(obj)
                if inspect.isawaitable(new):
                    new = await new
            except Exception:
                if current:
                    raise
                (obj, rev, data, stale), current = await self._state(k, ignore_not_found), True
                continue
            new_data = encode(new)
            if obj is not None and new_data == data and not stale:
                if current:
                    return obj  # nothing changed: no write, the revision stays
                (obj, rev, data, stale), current = await self._state(k, ignore_not_found), True
                continue
            cmp = compare_not_found(k) if rev == 0 else compare_mod_revision(k, rev)
            stored = self.to_storage(k, new_data)
            resp = await self.client.txn([cmp], [op_put(k, stored)], [op_get(k)])
            if not resp.succeeded:
                got = resp.responses[0].response_range
                obj, rev, data, stale = self._state_from(k, got, ignore_not_found)
                current = True
                continue
            return decode(new_data, resp.responses[0].response_put.header.revision)

    async def delete(
        self,
        key: str,
        preconditions: Preconditions | None = None,
        validate_deletion=None,  # type: ignore[no-untyped-def]
    ) -> Obj:
        """conditionalDelete: delete only the revision that passed the checks."""
        k = self.prepare_key(key)
        obj, rev, data, _ = await self._state(k, False)
        while True:
            check_preconditions(k.decode(), preconditions, obj)
            if validate_deletion is not None:
                validate_deletion(obj)
            resp = await self.client.txn(
                [compare_mod_revision(k, rev)], [op_delete(k)], [op_get(k)]
            )
            if not resp.succeeded:
                obj, rev, data, _ = self._state_from(k, resp.responses[0].response_range, False)
                continue
            return decode(data, resp.responses[0].response_delete_range.header.revision)

    async def get_list(
        self,
        key: str,
        pred: SelectionPredicate = EVERYTHING,
        resource_version: str = "",
        resource_version_match: str = "",
        recursive: bool = True,
    ) -> ListResult:
        """GetList: one consistent snapshot, filtered, paged by pred.limit/continue_."""
        k = self.prepare_key(key).decode()
        key_prefix = k + "/" if recursive and not k.endswith("/") else k
        start, with_rev = self._list_start(
            key_prefix, pred, resource_version, resource_version_match
        )
        range_end = prefix_end(key_prefix.encode()) if recursive else b""
        limit, items, last_key = pred.limit, [], b""
        while True:
            try:
                resp = await self.client.range(
                    start.encode(), range_end, revision=with_rev, limit=limit
                )
            except EtcdError as e:
                raise _list_error(e, bool(pred.continue_), key_prefix) from None
            self._check_min_rv(resource_version, resp.header.revision)
            has_more = resp.more
            for kv in resp.kvs:
                if pred.limit and len(items) >= pred.limit:
                    has_more = True
                    break
                last_key = kv.key
                obj = self.decode_kv(kv.key, kv.value, kv.mod_revision)
                if pred.matches(obj):
                    items.append(obj)
            if not has_more or not pred.limit or len(items) >= pred.limit:
                break
            limit = min(limit * 2, MAX_LIMIT)  # selectors dropped items: fetch bigger pages
            start = last_key.decode() + "\x00"
            if with_rev == 0:
                with_rev = resp.header.revision
        if with_rev == 0:
            with_rev = resp.header.revision
        if not has_more:
            return ListResult(items, with_rev)
        token = encode_continue(last_key.decode() + "\x00", key_prefix, with_rev)
        remaining = resp.count - pred.limit if pred.empty() else None
        return ListResult(items, with_rev, token, remaining)

    @staticmethod
    def _list_start(
        key_prefix: str, pred: SelectionPredicate, rv: str, match: str
    ) -> tuple[str, int]:
        if rv and not rv.isdigit():
            raise errors.bad_request(f"invalid resource version: {rv}")
        if pred.continue_:
            start, continue_rv = decode_continue(pred.continue_, key_prefix)
            if rv and rv != "0":
                raise errors.bad_request(
                    "specifying resource version is not allowed when using continue"
                )
            return start, max(continue_rv, 0)
        if rv and match == "Exact":
            return key_prefix, int(rv)
        if rv and match == "" and pred.limit and int(rv) > 0:
            return key_prefix, int(rv)
        return key_prefix, 0

    @staticmethod
    def _check_min_rv(rv: str, actual: int) -> None:
        if rv and int(rv) > actual:
            raise errors.too_large_resource_version(int(rv), actual)

    def watch(  # type: ignore[no-untyped-def]
        self,
        key: str,
        rv: int,
        pred: SelectionPredicate = EVERYTHING,
        recursive=True,
        progress=None,
    ):
        """An async iterator of Events after revision rv (rv 0: current state as ADDED first)."""
        k = self.prepare_key(key).decode()
        if recursive and not k.endswith("/"):
            k += "/"
        return watch_range(self, k, rv, pred, recursive, progress)

    async def compact(self, revision: int) -> None:
        await self.client.compact(revision)


def _list_error(e: EtcdError, continuing: bool, key_prefix: str) -> errors.StorageError:
    """interpretListError: a compacted revision is 410 Gone, with its own text when paging."""
    if e.code == grpc.StatusCode.OUT_OF_RANGE and "compacted" in e.message:
        if continuing:
            return errors.continue_expired(key_prefix)
        return errors.StorageError(errors.ERR_EXPIRED, key_prefix, e.message)
    if "future revision" in e.message:
        return errors.StorageError(errors.ERR_TOO_LARGE_RESOURCE_VERSION, key_prefix, e.message)
    return errors.StorageError(errors.ERR_UNREACHABLE, key_prefix, str(e))
