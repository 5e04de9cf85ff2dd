"""Turn an etcd v3 watch on a key range into Kubernetes watch events.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/watcher.go and event.go: a watch
from revision 0 first lists the range and sends every object as ADDED (the
"initial events"), then watches from the list revision + 1; a put whose
create_revision equals its mod_revision is ADDED, another put MODIFIED, a
delete DELETED carrying the previous value at the deletion revision. With a
selector, an object that starts or stops matching is ADDED or DELETED for this
watcher (watcher.go's transform). A compacted start revision raises the 410
"too old resource version" StorageError. A progress notification (asked for through
`progress`) becomes a BOOKMARK event carrying the store's revision.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import msgspec

from miniapiserver.etcd.client import prefix_end
from miniapiserver.storage import errors
from miniapiserver.storage.interfaces import (
    ADDED,
    BOOKMARK,
    DELETED,
    MODIFIED,
    Event,
    SelectionPredicate,
    set_object_rv,
)

if TYPE_CHECKING:
    from miniapiserver.storage.etcd3_store import Store

_PUT, _DELETE = 0, 1  # mvccpb.Event.EventType


def _decode(data: bytes, rev: int) -> dict:
    obj = msgspec.json.decode(data)
    set_object_rv(obj, rev)
    return obj


def parse_event(ev, decode=None) -> tuple[str, dict | None, dict | None, int]:  # type: ignore[no-untyped-def]
    """(type, current object, previous object, revision) of one mvccpb.Event.

    decode(key, value, rev) undoes the store's value transformer (plain JSON without one).
    """
    dec = decode or (lambda _k, value, rev: _decode(value, rev))
    kv = ev.kv
    rev = kv.mod_revision
    has_prev = ev.HasField("prev_kv") and ev.prev_kv.value
    prev = dec(kv.key, ev.prev_kv.value, rev) if has_prev else None
    if ev.type == _DELETE:
        return DELETED, None, prev, rev
    cur = dec(kv.key, kv.value, rev)
    if kv.create_revision == kv.mod_revision or prev is None:
        return ADDED, cur, None, rev
    return MODIFIED, cur, prev, rev


def transform(kind: str, cur, prev, rev: int, pred: SelectionPredicate) -> Event | None:  # type: ignore[no-untyped-def]
    """The event this watcher sees after filtering, or None."""
    if kind == ADDED:
        return Event(ADDED, cur, rev) if pred.matches(cur) else None
    if kind == DELETED:
        return Event(DELETED, prev, rev) if prev is not None and pred.matches(prev) else None
    cur_ok, prev_ok = pred.matches(cur), pred.matches(prev)
    if cur_ok and prev_ok:
        return Event(MODIFIED, cur, rev)
    if cur_ok:
        return Event(ADDED, cur, rev)
    if prev_ok:
        # The object left this watcher's selection: it sees a delete at this revision.
        # Copy, since cached objects are shared by every watcher.
        gone = {**prev, "metadata": {**prev.get("metadata", {}), "resourceVersion": str(rev)}}
        return Event(DELETED, gone, rev)
    return None


async def watch_range(
    store: Store,
    key_prefix: str,
    rv: int,
    pred: SelectionPredicate,
    recursive: bool,
    progress: asyncio.Queue[None] | None = None,
) -> AsyncIterator[Event]:
    client = store.client
    start = rv + 1
    if rv == 0:
        resp = await client.range(
            key_prefix.encode(), prefix_end(key_prefix.encode()) if recursive else b""
        )
        for kv in resp.kvs:
            obj = store.decode_kv(kv.key, kv.value, kv.mod_revision)
            if pred.matches(obj):
                yield Event(ADDED, obj, kv.mod_revision)
        start = resp.header.revision + 1
    range_end = prefix_end(key_prefix.encode()) if recursive else b""
    async for wresp in client.watch(key_prefix.encode(), range_end, start, progress):
        if wresp.compact_revision:
            raise errors.too_old_resource_version(rv, wresp.compact_revision)
        if wresp.canceled:
            raise errors.StorageError(errors.ERR_UNREACHABLE, key_prefix, wresp.cancel_reason)
        if not wresp.events and not wresp.created and wresp.header.revision:
            # A progress notification: nothing changed here up to this revision.
            yield Event(BOOKMARK, {}, wresp.header.revision)
            continue
        for ev in wresp.events:
            out = transform(*parse_event(ev, store.decode_kv), pred)
            if out is not None:
                yield out
