"""The not-yet-persisted tail of the log (and a not-yet-persisted snapshot).

Mirrors etcd-io/raft log_unstable.go (unstable). Entries live here from the
moment raft appends them until the application reports them stable through
advance(); `offset_in_progress` marks the prefix already handed out in a Ready
so the next Ready does not repeat it.
Contract: entries[i] has index offset + i; if a snapshot is present, offset is
snapshot.index + 1. Omitted: the logger and slice-capacity shrinking.
"""

from __future__ import annotations

from miniraft.raft.raftpb import Entry, Snapshot


class Unstable:
    def __init__(self, offset: int) -> None:
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []
        self.offset = offset
        self.snapshot_in_progress = False
        self.offset_in_progress = offset

    def maybe_first_index(self) -> int | None:
        if self.snapshot is not None:
            return self.snapshot.metadata.index + 1
        return None

    def maybe_last_index(self) -> int | None:
        if self.entries:
            return self.offset + len(self.entries) - 1
        if self.snapshot is not None:
            return self.snapshot.metadata.index
        return None

    def maybe_term(self, i: int) -> int | None:
        if i < self.offset:
            if self.snapshot is not None and self.snapshot.metadata.index == i:
                return self.snapshot.metadata.term
            return None
        last = self.maybe_last_index()
        if last is None or i > last:
            return None
        return self.entries[i - self.offset].term

    def next_entries(self) -> list[Entry]:
        """Entries not yet handed to the application for persistence."""
        start = self.offset_in_progress - self.offset
        return self.entries[start:]

    def next_snapshot(self) -> Snapshot | None:
        if self.snapshot is None or self.snapshot_in_progress:
            return None
        return self.snapshot

    def accept_in_progress(self) -> None:
        """Everything returned so far is now being persisted (Ready handed out)."""
        if self.entries:
            self.offset_in_progress = self.entries[-1].index + 1
        if self.snapshot is not None:
            self.snapshot_in_progress = True

    def stable_to(self, index: int, term: int) -> None:
        """Entries up to (index, term) are persisted: drop them from memory.

        The term check matters: if a new leader overwrote index in the
        meantime, the persisted entry is not the one we hold.
        """
        gt = self.maybe_term(index)
        if gt is None or index < self.offset or gt != term:
            return
        num = index + 1 - self.offset
        self.entries = self.entries[num:]
        self.offset = index + 1
        self.offset_in_progress = max(self.offset_in_progress, self.offset)

    def stable_snap_to(self, i: int) -> None:
        if self.snapshot is not None and self.snapshot.metadata.index == i:
            self.snapshot = None
            self.snapshot_in_progress = False

    def restore(self, s: Snapshot) -> None:
        self.offset = s.metadata.index + 1
        self.offset_in_progress = self.offset
        self.entries = []
        self.snapshot = s
        self.snapshot_in_progress = False

    def truncate_and_append(self, ents: list[Entry]) -> None:
        """Append ents; a conflicting suffix (index >= ents[0].index) is replaced."""
        from_index = ents[0].index
        if from_index == self.offset + len(self.entries):
            self.entries = self.entries + ents
        elif from_index <= self.offset:
            # The new entries replace everything we hold; the dropped ones may
            # have been persisted already, which the storage append overwrites.
            self.entries = list(ents)
            self.offset = from_index
            self.offset_in_progress = self.offset
        else:
            keep = self.slice(self.offset, from_index)
            self.entries = keep + ents
            self.offset_in_progress = min(self.offset_in_progress, from_index)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        upper = self.offset + len(self.entries)
        if lo > hi or lo < self.offset or hi > upper:
            raise IndexError(f"unstable.slice[{lo},{hi}) out of bound [{self.offset},{upper}]")
        return self.entries[lo - self.offset : hi - self.offset]
