"""Turn an etcd v3 watch on a key range into Kubernetes watch events.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/watcher.go and event.go: a watch
from revision 0 first lists the range and sends every object as ADDED (the
"initial events"), then watches from the list revision + 1; a put whose
create_revision equals its mod_revision is ADDED, another put MODIFIED, a
delete DELETED carrying the previous value at the deletion revision. With a
selector, an object that starts or stops matching is ADDED or DELETED for this
watcher (watcher.go's transform). A compacted start revision raises the 410
"too old resource version" StorageError. A progress notification (asked for through
`progress`) becomes a BOOKMARK event carrying the store's revision, but from an etcd
whose answer may run ahead of queued events (storage/feature.py) only once a range read
shows nothing is pending; otherwise it is dropped (the next one is checked again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import msgspec

from miniapiserver.etcd.client import EtcdError, prefix_end
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
    delivered = start - 1  # every event of the range up to here has been yielded
    # Whether this store's progress answers need checking, and if so how many keys the
    # range held at `delivered`: asked beside the watch, not before it, so the watch starts
    # at once; awaited at the first progress answer. Later counts follow the events.
    baseline = None
    if progress is not None:
        baseline = asyncio.ensure_future(_baseline(store, key_prefix, range_end, delivered))
    created = 0  # keys created minus keys deleted by the events since `baseline`
    try:
        async for wresp in client.watch(key_prefix.encode(), range_end, start, progress):
            if wresp.compact_revision:
                raise errors.too_old_resource_version(rv, wresp.compact_revision)
            if wresp.canceled:
                raise errors.StorageError(errors.ERR_UNREACHABLE, key_prefix, wresp.cancel_reason)
            if not wresp.events and not wresp.created and wresp.header.revision:
                # A progress notification: nothing changed here up to this revision.
                rev = wresp.header.revision
                if rev > delivered and baseline is not None:
                    keys = await baseline
                    if keys is not None and not await _caught_up(
                        store, key_prefix, range_end, delivered, keys + created, rev
                    ):
                        continue  # events below rev are still on their way
                    delivered = rev
                yield Event(BOOKMARK, {}, rev)
                continue
            for ev in wresp.events:
                delivered = max(delivered, ev.kv.mod_revision)
                created += _key_count_change(ev)
                out = transform(*parse_event(ev, store.decode_kv), pred)
                if out is not None:
                    yield out
    finally:
        if baseline is not None:
            baseline.cancel()


async def _baseline(store: Store, key_prefix: str, range_end: bytes, rev: int) -> int | None:
    """None when the store's progress answers keep to the event order, else the keys at rev."""
    if await store.request_watch_progress_supported():
        return None
    return await store.client.count(key_prefix.encode(), range_end, rev)


def _key_count_change(ev) -> int:  # type: ignore[no-untyped-def]
    """-1 for a delete, +1 for a put that created its key, else 0."""
    if ev.type == _DELETE:
        return -1
    return 1 if ev.kv.create_revision == ev.kv.mod_revision else 0


async def _caught_up(
    store: Store, key_prefix: str, range_end: bytes, delivered: int, keys: int, rev: int
) -> bool:
    """Whether the range has no change in (delivered, rev] that the watch has not yet sent.

    An old etcd answers a progress request with its current revision at once, ahead of the
    events still queued for this watch (etcd issue 15220): trusting it would move a watch
    cache past events it has not seen, and every bookmarked watcher would then drop them.
    The range at rev holding no key written after `delivered`, and as many keys as it held
    at `delivered`, means no put or delete is pending (a key both created and deleted in
    between is not seen). A failed read counts as not caught up: the next answer is checked.
    """
    key = key_prefix.encode()
    try:
        if await store.client.any_modified_since(key, range_end, rev, delivered + 1):
            return False
        return await store.client.count(key, range_end, rev) == keys
    except EtcdError:
        return False
