"""WAL and snapshot files: round trips, log overwrite, torn-tail repair, corruption.

Mirrors the intent of etcd server/storage/wal/wal_test.go (TestSaveWithCut,
TestRepair*) and snapshotter_test.go (TestFailback).
"""

from __future__ import annotations

import os

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from miniraft.raft import ConfState, Entry, HardState, Snapshot, SnapshotMetadata
from miniraft.server.wal import snapshotter as snapmod
from miniraft.server.wal.wal import WAL, WALError, WalSnapshot


def _ents(lo: int, hi: int, term: int = 1) -> list[Entry]:
    return [Entry(term=term, index=i, data=b"x%d" % i) for i in range(lo, hi + 1)]


def test_roundtrip_and_overwrite(tmp_path) -> None:
    w = WAL.create(tmp_path / "wal", b"meta")
    w.save(HardState(term=1, vote=1, commit=2), _ents(1, 5))
    w.save(HardState(term=2, vote=2, commit=3), _ents(4, 6, term=2))  # new leader rewrote 4..
    w.close()
    w, meta, hs, ents = WAL.open(tmp_path / "wal", WalSnapshot())
    assert meta == b"meta" and hs == HardState(term=2, vote=2, commit=3)
    assert [(e.index, e.term) for e in ents] == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2)]
    w.close()


def test_entries_after_snapshot_and_release(tmp_path) -> None:
    w = WAL.create(tmp_path / "wal", b"m")
    w.save(HardState(term=1, commit=10), _ents(1, 10))
    w.save_snapshot(WalSnapshot(index=8, term=1))
    w.cut()
    w.save(HardState(term=1, commit=12), _ents(11, 12))
    w.release_lock_to(8)
    w.close()
    w, _, hs, ents = WAL.open(tmp_path / "wal", WalSnapshot(index=8, term=1))
    assert [e.index for e in ents] == [9, 10, 11, 12] and hs.commit == 12
    w.close()


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=1, max_value=200))
def test_torn_tail_is_repaired(tmp_path_factory, cut: int) -> None:
    d = tmp_path_factory.mktemp("wal")
    w = WAL.create(d, b"m")
    w.save(HardState(term=1, commit=3), _ents(1, 3))
    w.close()
    seg = sorted(d.iterdir())[-1]
    intact = seg.stat().st_size
    w = WAL.open(d, WalSnapshot())[0]
    w.save(HardState(term=1, commit=4), _ents(4, 4))
    w.close()
    size = seg.stat().st_size
    os.truncate(seg, max(intact, size - cut))  # crash in the middle of the last write
    w, _, _, ents = WAL.open(d, WalSnapshot())
    assert [e.index for e in ents][:3] == [1, 2, 3]
    w.save(HardState(term=1, commit=5), _ents(len(ents) + 1, len(ents) + 1))
    w.close()
    _, _, hs, ents = WAL.open(d, WalSnapshot())
    assert [e.index for e in ents] == list(range(1, len(ents) + 1)) and hs.commit == 5


def test_corruption_in_the_middle_is_an_error(tmp_path) -> None:
    w = WAL.create(tmp_path, b"m")
    w.save(HardState(term=1, commit=3), _ents(1, 30))
    w.close()
    seg = sorted(tmp_path.iterdir())[-1]
    buf = bytearray(seg.read_bytes())
    buf[200] ^= 0xFF
    seg.write_bytes(bytes(buf))
    with pytest.raises(WALError, match="crc mismatch"):
        WAL.open(tmp_path, WalSnapshot())


def test_snapshotter_falls_back_past_a_broken_file(tmp_path) -> None:
    s = snapmod.Snapshotter(tmp_path)
    cs = ConfState(voters=(1, 2, 3))
    s.save_snap(Snapshot(data=b"old", metadata=SnapshotMetadata(conf_state=cs, index=5, term=1)))
    s.save_snap(Snapshot(data=b"new", metadata=SnapshotMetadata(conf_state=cs, index=9, term=2)))
    newest = tmp_path / s.snap_names()[0]
    newest.write_bytes(newest.read_bytes()[:-2])
    snap = s.load()
    assert snap.data == b"old" and snap.metadata.conf_state.voters == (1, 2, 3)
    assert any(p.name.endswith(".broken") for p in tmp_path.iterdir())
