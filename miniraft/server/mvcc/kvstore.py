"""The MVCC key-value store: every write makes a new revision, history stays until compacted.

Mirrors etcd server/storage/mvcc/kvstore.go, kvstore_txn.go, kvstore_compaction.go
and hash.go. The backend is a dict from Revision to (KeyValue, tombstone) kept in
revision order (bbolt's "key" bucket in etcd); the TreeIndex maps keys to their
revisions. A write transaction bumps the main revision once, however many
changes it makes; each change gets its own sub revision.
Omitted: bbolt and batching (the store is rebuilt from snapshot + WAL on restart),
the background compaction scheduler (compaction is immediate), metrics.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Protocol

from miniraft.api.mvccpb import kv_pb2
from miniraft.server.mvcc.errors import ErrCompacted, ErrFutureRev, ErrRevisionNotFound
from miniraft.server.mvcc.index import TreeIndex
from miniraft.server.mvcc.revision import Revision

NO_LEASE = 0


class LeaseAttacher(Protocol):
    """The part of the lessor the store needs (etcd lease.Lessor's item methods)."""

    def get_lease(self, key: bytes) -> int: ...
    def attach(self, lease_id: int, keys: list[bytes]) -> None: ...
    def detach(self, lease_id: int, keys: list[bytes]) -> None: ...


@dataclass
class RangeResult:
    kvs: list[kv_pb2.KeyValue]
    count: int
    rev: int


@dataclass
class RangeOptions:
    limit: int = 0
    rev: int = 0
    count_only: bool = False


class KVStore:
    """store in kvstore.go: current revision, compacted revision, index and backend."""

    def __init__(self, lessor: LeaseAttacher | None = None) -> None:
        self.index = TreeIndex()
        self.backend: dict[Revision, tuple[kv_pb2.KeyValue, bool]] = {}
        self.current_rev = 1  # etcd starts at 1, so the first write is revision 2
        self.compact_main_rev = -1
        self.consistent_index = 0  # the raft index of the last applied entry
        self.le = lessor

    def rev(self) -> int:
        return self.current_rev

    def first_rev(self) -> int:
        return self.compact_main_rev

    def read(self) -> TxnRead:
        return TxnRead(self)

    def write(self) -> TxnWrite:
        return TxnWrite(self)

    def range_keys(self, key: bytes, end: bytes | None, cur_rev: int, ro: RangeOptions):
        """rangeKeys: the live key-values at ro.rev (0: cur_rev); header rev is cur_rev."""
        rev = ro.rev
        if rev > cur_rev:
            raise ErrFutureRev()
        if rev <= 0:
            rev = cur_rev
        if rev < self.compact_main_rev:
            raise ErrCompacted()
        pairs, total = self.index.revisions(key, end, rev, 0 if ro.count_only else ro.limit)
        if ro.count_only:
            return RangeResult([], total, cur_rev)
        kvs = [self.backend[r][0] for _, r in pairs]
        return RangeResult(kvs, total, cur_rev)

    def compact(self, rev: int) -> None:
        """Drop history older than rev; reads below rev then fail with ErrCompacted."""
        if rev <= self.compact_main_rev:
            raise ErrCompacted()
        if rev > self.current_rev:
            raise ErrFutureRev()
        self.compact_main_rev = rev
        keep = self.index.compact(rev)
        doomed = [r for r in self.backend if r.main <= rev and r not in keep]
        for r in doomed:
            del self.backend[r]

    def hash_by_rev(self, rev: int) -> tuple[int, int, int]:
        """(hash, current revision, compacted revision) over the history up to rev.

        Like etcd's HashByRev, members with the same applied log hash equal; the
        checksum is zlib's crc32 over (revision, key-value) records in order.
        """
        if rev <= 0:
            rev = self.current_rev
        if rev > self.current_rev:
            raise ErrFutureRev()
        if rev < self.compact_main_rev:
            raise ErrCompacted()
        h = 0
        for r, (kv, tomb) in self.backend.items():
            if r.main > rev:
                break
            h = zlib.crc32(r.to_bytes() + (b"t" if tomb else b"p"), h)
            h = zlib.crc32(kv.SerializeToString(deterministic=True), h)
        return h, self.current_rev, self.compact_main_rev

    def records(self) -> list[tuple[Revision, kv_pb2.KeyValue, bool]]:
        """The backend in revision order, for snapshots."""
        return [(r, kv, t) for r, (kv, t) in self.backend.items()]

    def restore(self, records, current_rev: int, compact_rev: int, consistent_index: int) -> None:
        """Rebuild backend and index from snapshot records (etcd's restore/restoreIntoIndex)."""
        self.index = TreeIndex()
        self.backend = {}
        for r, kv, tomb in records:
            self.backend[r] = (kv, tomb)
            self.index.restore(kv.key, r, kv.create_revision, kv.version, tomb)
        self.current_rev = current_rev
        self.compact_main_rev = compact_rev
        self.consistent_index = consistent_index
        if self.le is None:
            return
        for ki in list(self.index.tree.values()):
            try:
                mod, _, _ = ki.get(current_rev)
            except ErrRevisionNotFound:
                continue
            kv = self.backend[mod][0]
            if kv.lease != NO_LEASE:
                self.le.attach(kv.lease, [kv.key])

    def notify_changes(self, rev: int, changes: list[kv_pb2.KeyValue]) -> None:
        """Called when a write transaction ends; the watchable store overrides it."""


class TxnRead:
    """storeTxnRead: a read view at the current revision."""

    def __init__(self, s: KVStore) -> None:
        self.s = s

    def rev(self) -> int:
        return self.s.current_rev

    def first_rev(self) -> int:
        return self.s.compact_main_rev

    def range(self, key: bytes, end: bytes | None, ro: RangeOptions) -> RangeResult:
        return self.s.range_keys(key, end, self.s.current_rev, ro)

    def changes(self) -> list[kv_pb2.KeyValue]:
        return []

    def end(self) -> None:
        return None


@dataclass
class TxnWrite:
    """storeTxnWrite: all changes share main revision begin_rev + 1."""

    s: KVStore
    begin_rev: int = 0
    changes_: list[kv_pb2.KeyValue] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.begin_rev = self.s.current_rev

    def rev(self) -> int:
        return self.begin_rev

    def first_rev(self) -> int:
        return self.s.compact_main_rev

    def changes(self) -> list[kv_pb2.KeyValue]:
        return self.changes_

    def range(self, key: bytes, end: bytes | None, ro: RangeOptions) -> RangeResult:
        rev = self.begin_rev + 1 if self.changes_ else self.begin_rev
        return self.s.range_keys(key, end, rev, ro)

    def put(self, key: bytes, value: bytes, lease: int) -> int:
        rev = self.begin_rev + 1
        created = rev
        old_lease = NO_LEASE
        ver = 0
        try:
            _, c, ver = self.s.index.get(key, rev)
            created = c.main
            if self.s.le is not None:
                old_lease = self.s.le.get_lease(key)
        except ErrRevisionNotFound:
            pass
        ibytes = Revision(rev, len(self.changes_))
        kv = kv_pb2.KeyValue(
            key=key,
            value=value,
            create_revision=created,
            mod_revision=rev,
            version=ver + 1,
            lease=lease,
        )
        self.s.backend[ibytes] = (kv, False)
        self.s.index.put(key, ibytes)
        self.changes_.append(kv)
        if self.s.le is not None and old_lease != lease:
            if old_lease != NO_LEASE:
                self.s.le.detach(old_lease, [key])
            if lease != NO_LEASE:
                self.s.le.attach(lease, [key])
        return rev

    def delete_range(self, key: bytes, end: bytes | None) -> tuple[int, int]:
        """(number deleted, revision) like storeTxnWrite.DeleteRange."""
        rrev = self.begin_rev + 1 if self.changes_ else self.begin_rev
        pairs, _ = self.s.index.revisions(key, end, rrev, 0)
        for k, _ in pairs:
            self._delete(k)
        n = len(pairs)
        if n or self.changes_:
            return n, self.begin_rev + 1
        return n, self.begin_rev

    def _delete(self, key: bytes) -> None:
        rev = self.begin_rev + 1
        ibytes = Revision(rev, len(self.changes_))
        kv = kv_pb2.KeyValue(key=key, mod_revision=rev)
        self.s.backend[ibytes] = (kv, True)
        self.s.index.tombstone(key, ibytes)
        self.changes_.append(kv)
        if self.s.le is not None:
            lease = self.s.le.get_lease(key)
            if lease != NO_LEASE:
                self.s.le.detach(lease, [key])

    def end(self) -> None:
        if self.changes_:
            self.s.current_rev += 1
            self.s.notify_changes(self.s.current_rev, self.changes_)
