"""MemoryStorage against etcd-io/raft storage.go's contract (storage_test.go)."""

from __future__ import annotations

import pytest

from miniraft.raft import (
    ConfState,
    Entry,
    ErrCompacted,
    ErrSnapOutOfDate,
    ErrUnavailable,
    MemoryStorage,
    Snapshot,
    SnapshotMetadata,
)
from miniraft.raft.raftpb_codec import entry_size


def storage_with(ents: list[tuple[int, int]]) -> MemoryStorage:
    """ents[0] becomes the dummy entry, as in etcd's tests."""
    s = MemoryStorage()
    s.ents = [Entry(term=t, index=i) for i, t in ents]
    return s


def test_term() -> None:
    s = storage_with([(3, 3), (4, 4), (5, 5)])
    with pytest.raises(ErrCompacted):
        s.term(2)
    assert s.term(3) == 3 and s.term(5) == 5
    with pytest.raises(ErrUnavailable):
        s.term(6)


def test_entries_and_size_limit() -> None:
    s = storage_with([(3, 3), (4, 4), (5, 5), (6, 6)])
    with pytest.raises(ErrCompacted):
        s.entries(2, 6)
    with pytest.raises(ErrCompacted):
        s.entries(3, 4)
    assert [e.index for e in s.entries(4, 7)] == [4, 5, 6]
    one = entry_size(Entry(term=4, index=4))
    assert [e.index for e in s.entries(4, 7, one)] == [4]  # never empty
    assert [e.index for e in s.entries(4, 7, 0)] == [4]
    assert [e.index for e in s.entries(4, 7, 2 * one + 1)] == [4, 5]
    assert str(ErrCompacted()) == "requested index is unavailable due to compaction"


def test_first_last_index_and_compact() -> None:
    s = storage_with([(3, 3), (4, 4), (5, 5)])
    assert (s.first_index(), s.last_index()) == (4, 5)
    s.compact(4)
    assert (s.first_index(), s.last_index()) == (5, 5)
    with pytest.raises(ErrCompacted):
        s.compact(4)


def test_create_snapshot_and_apply() -> None:
    s = storage_with([(3, 3), (4, 4), (5, 5)])
    cs = ConfState(voters=(1, 2, 3))
    snap = s.create_snapshot(4, cs, b"data")
    assert (snap.metadata.index, snap.metadata.term, snap.data) == (4, 4, b"data")
    with pytest.raises(ErrSnapOutOfDate):
        s.create_snapshot(3, cs, b"")
    s2 = MemoryStorage()
    s2.apply_snapshot(Snapshot(metadata=SnapshotMetadata(cs, index=4, term=4)))
    with pytest.raises(ErrSnapOutOfDate):
        s2.apply_snapshot(Snapshot(metadata=SnapshotMetadata(cs, index=3, term=3)))
    assert (s2.first_index(), s2.last_index(), s2.initial_state()[1]) == (5, 4, cs)


@pytest.mark.parametrize(
    "new,want",
    [
        ([(3, 3), (4, 4), (5, 5)], [(3, 3), (4, 4), (5, 5)]),
        ([(3, 3), (4, 6), (5, 6)], [(3, 3), (4, 6), (5, 6)]),  # overwrite the tail
        ([(3, 3), (4, 4), (5, 5), (6, 5)], [(3, 3), (4, 4), (5, 5), (6, 5)]),
        ([(2, 3), (3, 3), (4, 5)], [(3, 3), (4, 5)]),  # truncate the compacted prefix
        ([(4, 5)], [(3, 3), (4, 5)]),
        ([(6, 5)], [(3, 3), (4, 4), (5, 5), (6, 5)]),
    ],
)
def test_append(new, want) -> None:
    s = storage_with([(3, 3), (4, 4), (5, 5)])
    s.append([Entry(term=t, index=i) for i, t in new])
    assert [(e.index, e.term) for e in s.ents] == want


def test_append_with_gap_fails() -> None:
    s = storage_with([(3, 3), (4, 4), (5, 5)])
    with pytest.raises(IndexError):
        s.append([Entry(term=5, index=7)])


def test_append_extends_in_place_and_slices_stay_valid() -> None:
    """Appending must not copy the log (amortised O(len(entries))), and a slice
    handed out by entries() must not change when a conflict truncates the tail."""
    s = storage_with([(3, 3), (4, 4), (5, 5)])
    backing = s.ents
    s.append([Entry(term=5, index=6), Entry(term=5, index=7)])
    assert s.ents is backing
    before = s.entries(4, 8)
    s.append([Entry(term=6, index=5)])  # conflict at 5: truncate in place
    assert s.ents is backing
    assert [(e.index, e.term) for e in s.ents] == [(3, 3), (4, 4), (5, 6)]
    assert [(e.index, e.term) for e in before] == [(4, 4), (5, 5), (6, 5), (7, 5)]
    s.compact(4)
    assert [(e.index, e.term) for e in s.ents] == [(4, 4), (5, 6)]
