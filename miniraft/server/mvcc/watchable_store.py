"""A KV store that watchers can follow: each write transaction fans out events.

Mirrors etcd server/storage/mvcc/watchable_store.go, watchable_store_txn.go and
watcher_group.go. A watcher is "synced" when it has seen everything up to the
current revision (new events go straight to it) and "unsynced" while it still
replays history from its start revision; a watcher whose start revision was
compacted away is canceled with compact_revision set, as etcd does.
Omitted: the victim list and the 100 ms sync loop — deliveries never block here
(streams queue without bound) and history is replayed as soon as a watcher is
created, in the same event-loop step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from miniraft.api.mvccpb import kv_pb2
from miniraft.server.mvcc.kvstore import KVStore, LeaseAttacher


@dataclass(eq=False)
class Watcher:
    """watcher in watcher.go: a key range and the next revision it wants."""

    key: bytes
    end: bytes | None  # None: the key only; b"": every key >= key
    min_rev: int
    id: int
    send: Callable[[Watcher, list[kv_pb2.Event], int, int], None] = field(repr=False)

    def matches(self, key: bytes) -> bool:
        if self.end is None:
            return key == self.key
        return key >= self.key and (self.end == b"" or key < self.end)


def kv_to_event(kv: kv_pb2.KeyValue, tombstone: bool) -> kv_pb2.Event:
    ev = kv_pb2.Event(type=kv_pb2.Event.DELETE if tombstone else kv_pb2.Event.PUT)
    ev.kv.CopyFrom(kv)
    return ev


class WatchableStore(KVStore):
    def __init__(self, lessor: LeaseAttacher | None = None) -> None:
        super().__init__(lessor)
        self.synced: set[Watcher] = set()
        self.unsynced: set[Watcher] = set()

    def watch(self, w: Watcher, start_rev: int) -> None:
        """Register w; start_rev 0 means "from the next revision"."""
        if start_rev == 0 or start_rev > self.current_rev:
            w.min_rev = start_rev if start_rev else self.current_rev + 1
            self.synced.add(w)
            return
        w.min_rev = start_rev
        self.unsynced.add(w)
        self.sync_watchers()

    def cancel(self, w: Watcher) -> None:
        self.synced.discard(w)
        self.unsynced.discard(w)

    def sync_watchers(self) -> None:
        """Replay history to unsynced watchers, then move them to the synced group."""
        for w in list(self.unsynced):
            self.unsynced.discard(w)
            if w.min_rev < self.compact_main_rev:
                w.send(w, [], self.current_rev, self.compact_main_rev)
                continue  # a compacted watcher is canceled, never synced
            events = self.history(w.key, w.end, w.min_rev)
            if events:
                w.send(w, events, self.current_rev, 0)
            w.min_rev = self.current_rev + 1
            self.synced.add(w)

    def restore_watchers(self) -> None:
        """After the store was replaced by a snapshot: replay to everyone from min_rev."""
        self.unsynced |= self.synced
        self.synced.clear()
        self.sync_watchers()

    def history(self, key: bytes, end: bytes | None, min_rev: int) -> list[kv_pb2.Event]:
        events = []
        for rev in self.index.range_since(key, end, min_rev):
            kv, tomb = self.backend[rev]
            events.append(kv_to_event(kv, tomb))
        return events

    def notify_changes(self, rev: int, changes: list[kv_pb2.KeyValue]) -> None:
        """watchableStoreTxnWrite.End → notify: hand the txn's events to synced watchers."""
        if not self.synced:
            return
        events = []
        for kv in changes:
            tomb = kv.create_revision == 0  # a delete's change carries only key and mod rev
            events.append(kv_to_event(kv, tomb))
        for w in list(self.synced):
            if rev < w.min_rev:
                continue  # a watch created for a future revision
            mine = [ev for ev in events if w.matches(ev.kv.key)]
            if mine:
                w.send(w, mine, rev, 0)
                w.min_rev = rev + 1
