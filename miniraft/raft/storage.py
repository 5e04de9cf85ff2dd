"""The Storage interface and MemoryStorage, an in-memory implementation.

Mirrors etcd-io/raft storage.go (Storage, MemoryStorage, ErrCompacted,
ErrSnapOutOfDate, ErrUnavailable, ErrSnapshotTemporarilyUnavailable).
Raft reads stable state through Storage; the application writes to it (append,
set_hard_state, apply_snapshot) after each Ready and before advance().
Contract: ents[0] is a dummy entry standing for the snapshot's (index, term),
so first_index() is snapshot index + 1. Omitted: the mutex (no threads here).
"""

from __future__ import annotations

from typing import Protocol

from miniraft.raft.raftpb import (
    ConfState,
    Entry,
    HardState,
    Snapshot,
    SnapshotMetadata,
)
from miniraft.raft.raftpb_codec import NO_LIMIT, limit_size


class RaftError(Exception):
    """Base of the errors raft returns; str() is etcd's message text."""


class ErrCompacted(RaftError):
    def __init__(self) -> None:
        super().__init__("requested index is unavailable due to compaction")


class ErrSnapOutOfDate(RaftError):
    def __init__(self) -> None:
        super().__init__("requested index is older than the existing snapshot")


class ErrUnavailable(RaftError):
    def __init__(self) -> None:
        super().__init__("requested entry at index is unavailable")


class ErrSnapshotTemporarilyUnavailable(RaftError):
    def __init__(self) -> None:
        super().__init__("snapshot is temporarily unavailable")


class Storage(Protocol):
    """What raft reads. Errors: ErrCompacted, ErrUnavailable (see storage.go)."""

    def initial_state(self) -> tuple[HardState, ConfState]: ...
    def entries(self, lo: int, hi: int, max_size: int) -> list[Entry]: ...
    def term(self, i: int) -> int: ...
    def last_index(self) -> int: ...
    def first_index(self) -> int: ...
    def snapshot(self) -> Snapshot: ...


class MemoryStorage:
    """Storage backed by a list; the simulator's 'disk' that survives crashes."""

    def __init__(self) -> None:
        self.hard_state = HardState()
        self.snap = Snapshot()
        self.ents: list[Entry] = [Entry()]  # dummy at the snapshot position

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self.hard_state, self.snap.metadata.conf_state

    def set_hard_state(self, st: HardState) -> None:
        self.hard_state = st

    def _offset(self) -> int:
        return self.ents[0].index

    def entries(self, lo: int, hi: int, max_size: int = NO_LIMIT) -> list[Entry]:
        offset = self._offset()
        if lo <= offset:
            raise ErrCompacted()
        if hi > self.last_index() + 1:
            raise IndexError(f"entries' hi({hi}) is out of bound lastindex({self.last_index()})")
        if len(self.ents) == 1:  # only the dummy entry
            raise ErrUnavailable()
        return limit_size(self.ents[lo - offset : hi - offset], max_size)

    def term(self, i: int) -> int:
        offset = self._offset()
        if i < offset:
            raise ErrCompacted()
        if i - offset >= len(self.ents):
            raise ErrUnavailable()
        return self.ents[i - offset].term

    def last_index(self) -> int:
        return self._offset() + len(self.ents) - 1

    def first_index(self) -> int:
        return self._offset() + 1

    def snapshot(self) -> Snapshot:
        return self.snap

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Overwrite the whole storage with a snapshot received from the leader."""
        if self.snap.metadata.index >= snap.metadata.index:
            raise ErrSnapOutOfDate()
        self.snap = snap
        self.ents = [Entry(term=snap.metadata.term, index=snap.metadata.index)]

    def create_snapshot(self, i: int, cs: ConfState | None, data: bytes) -> Snapshot:
        """Record a snapshot of the applied state at index i (then compact())."""
        if i <= self.snap.metadata.index:
            raise ErrSnapOutOfDate()
        offset = self._offset()
        if i > self.last_index():
            raise IndexError(f"snapshot {i} is out of bound lastindex({self.last_index()})")
        meta = SnapshotMetadata(
            conf_state=cs if cs is not None else self.snap.metadata.conf_state,
            index=i,
            term=self.ents[i - offset].term,
        )
        self.snap = Snapshot(data=data, metadata=meta)
        return self.snap

    def compact(self, compact_index: int) -> None:
        """Discard entries before compact_index; it becomes the new dummy."""
        offset = self._offset()
        if compact_index <= offset:
            raise ErrCompacted()
        if compact_index > self.last_index():
            raise IndexError(
                f"compact {compact_index} is out of bound lastindex({self.last_index()})"
            )
        i = compact_index - offset
        dummy = Entry(term=self.ents[i].term, index=self.ents[i].index)
        del self.ents[:i]  # in place: no second copy of the kept tail
        self.ents[0] = dummy

    def append(self, entries: list[Entry] | tuple[Entry, ...]) -> None:
        """Append entries, truncating any conflicting suffix first."""
        if not entries:
            return
        first = self.first_index()
        last = entries[0].index + len(entries) - 1
        if last < first:
            return  # everything is already compacted
        if first > entries[0].index:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self._offset()
        if offset > len(self.ents):
            raise IndexError(
                f"missing log entry [last: {self.last_index()}, append at: {entries[0].index}]"
            )
        if offset < len(self.ents):
            # A conflicting suffix: truncate in place (rare; only after a leader change).
            del self.ents[offset:]
        # The common case is a pure append: O(len(entries)), never a copy of the log.
        self.ents.extend(entries)
