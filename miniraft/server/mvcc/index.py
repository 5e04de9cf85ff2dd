"""The in-memory index from key to KeyIndex, ordered by key.

Mirrors etcd server/storage/mvcc/index.go (treeIndex over a btree). Here a
sorted list of keys plus a dict stand in for the btree: range scans bisect the
list. `end is None` means the single key; `end == b""` means every key >= key
(etcd's mkGteRange turns the client's "\\0" into that).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from miniraft.server.mvcc.errors import ErrRevisionNotFound
from miniraft.server.mvcc.key_index import Generation, KeyIndex
from miniraft.server.mvcc.revision import Revision


class TreeIndex:
    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.tree: dict[bytes, KeyIndex] = {}

    def _insert(self, key: bytes) -> KeyIndex:
        ki = self.tree.get(key)
        if ki is None:
            ki = self.tree[key] = KeyIndex(key)
            bisect.insort(self.keys, key)
        return ki

    def put(self, key: bytes, rev: Revision) -> None:
        self._insert(key).put(rev.main, rev.sub)

    def restore(
        self, key: bytes, rev: Revision, create_revision: int, version: int, tombstone: bool
    ) -> None:
        """Replay one backend record, oldest first (etcd's restoreIntoIndex)."""
        ki = self.tree.get(key)
        if ki is not None:
            if tombstone:
                ki.tombstone(rev.main, rev.sub)
            else:
                ki.put(rev.main, rev.sub)
            return
        ki = self._insert(key)
        if tombstone:  # the key's earlier history was compacted away
            ki.restore(Revision(0, 0), rev, 1)
            ki.generations.append(Generation())
        else:
            ki.restore(Revision(create_revision, 0), rev, version)

    def get(self, key: bytes, at_rev: int) -> tuple[Revision, Revision, int]:
        ki = self.tree.get(key)
        if ki is None:
            raise ErrRevisionNotFound()
        return ki.get(at_rev)

    def tombstone(self, key: bytes, rev: Revision) -> None:
        ki = self.tree.get(key)
        if ki is None:
            raise ErrRevisionNotFound()
        ki.tombstone(rev.main, rev.sub)

    def visit(self, key: bytes, end: bytes | None) -> Iterator[KeyIndex]:
        """KeyIndexes in [key, end) in key order."""
        if end is None:
            ki = self.tree.get(key)
            if ki is not None:
                yield ki
            return
        i = bisect.bisect_left(self.keys, key)
        stop = len(self.keys) if end == b"" else bisect.bisect_left(self.keys, end)
        for k in self.keys[i:stop]:
            yield self.tree[k]

    def revisions(
        self, key: bytes, end: bytes | None, at_rev: int, limit: int
    ) -> tuple[list[tuple[bytes, Revision]], int]:
        """(key, modified revision) of the keys alive at at_rev, up to limit; and the total."""
        out: list[tuple[bytes, Revision]] = []
        total = 0
        for ki in self.visit(key, end):
            try:
                rev, _, _ = ki.get(at_rev)
            except ErrRevisionNotFound:
                continue
            if limit <= 0 or len(out) < limit:
                out.append((ki.key, rev))
            total += 1
        return out, total

    def range_since(self, key: bytes, end: bytes | None, rev: int) -> list[Revision]:
        """Every revision >= rev of the keys in range, sorted (for watch history)."""
        revs: list[Revision] = []
        for ki in self.visit(key, end):
            revs.extend(ki.since(rev))
        revs.sort()
        return revs

    def compact(self, rev: int) -> set[Revision]:
        """Compact every key at rev; return the revisions the backend must keep."""
        available: set[Revision] = set()
        emptied: list[bytes] = []
        for k in self.keys:
            ki = self.tree[k]
            ki.compact(rev, available)
            if ki.is_empty():
                emptied.append(k)
        for k in emptied:
            del self.tree[k]
        if emptied:
            gone = set(emptied)
            self.keys = [k for k in self.keys if k not in gone]
        return available

    def keep(self, rev: int) -> set[Revision]:
        available: set[Revision] = set()
        for k in self.keys:
            self.tree[k].keep(rev, available)
        return available
