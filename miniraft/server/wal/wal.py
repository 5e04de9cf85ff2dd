"""The write-ahead log: hard state and entries are durable before anyone hears of them.

Mirrors etcd server/storage/wal/wal.go (Create, Open, ReadAll, Save,
SaveSnapshot, cut, ReleaseLockTo) and repair.go (torn-tail repair). Segments
are `<seq>-<index>.wal`; each starts with a CRC record (chaining the previous
segment), the metadata record and the last hard state. `save` syncs (fdatasync,
as etcd's fileutil.Fdatasync) whenever it wrote entries or a changed
term/vote, so an acknowledged write is on disk.
On open, a torn last record is cut off (a crash mid-write); any other CRC
mismatch is an error. Omitted: file locks, preallocation, the encoder's page
buffering.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from miniraft.raft import Entry, HardState
from miniraft.server.raftpb_wire import (
    marshal_entry,
    marshal_hard_state,
    unmarshal_entry,
    unmarshal_hard_state,
)
from miniraft.server.wal.record import (
    ENTRY_TYPE,
    METADATA_TYPE,
    SNAPSHOT_TYPE,
    STATE_TYPE,
    ErrTornTail,
    Record,
    crc_record,
    decode_all,
    encode,
)

SEGMENT_BYTES = 64 << 20
_SNAP = struct.Struct("<QQ")


class WALError(Exception):
    pass


@dataclass(frozen=True)
class WalSnapshot:
    index: int = 0
    term: int = 0


def wal_name(seq: int, index: int) -> str:
    return f"{seq:016x}-{index:016x}.wal"


def _parse(name: str) -> tuple[int, int]:
    seq, index = name[: -len(".wal")].split("-")
    return int(seq, 16), int(index, 16)


def exist(dirpath: str | os.PathLike) -> bool:
    d = Path(dirpath)
    return d.is_dir() and any(p.suffix == ".wal" for p in d.iterdir())


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WAL:
    def __init__(self, dirpath: Path, metadata: bytes) -> None:
        self.dir = dirpath
        self.metadata = metadata
        self.f = None
        self.seq = 0
        self.crc = 0
        self.state = HardState()
        self.enti = 0  # index of the last entry saved
        self.repaired = False

    @classmethod
    def create(cls, dirpath: str | os.PathLike, metadata: bytes) -> WAL:
        d = Path(dirpath)
        if exist(d):
            raise WALError("wal: directory already holds a WAL")
        d.mkdir(parents=True, exist_ok=True)
        w = cls(d, metadata)
        w._open_segment(0, 0)
        w._write(Record(SNAPSHOT_TYPE, _SNAP.pack(0, 0)))
        w.sync()
        _fsync_dir(d)
        return w

    def _open_segment(self, seq: int, index: int) -> None:
        if self.f is not None:
            self.f.close()
        self.seq = seq
        self.f = open(self.dir / wal_name(seq, index), "ab")  # noqa: SIM115 (kept open)
        self._write(crc_record(self.crc))
        self._write(Record(METADATA_TYPE, self.metadata))
        self._write(Record(STATE_TYPE, marshal_hard_state(self.state)))

    def _write(self, rec: Record) -> None:
        data, self.crc = encode(rec, self.crc)
        self.f.write(data)

    def sync(self) -> None:
        # etcd's encoder flush + fileutil.Fdatasync: the data and the file size, not
        # the inode timestamps, must be durable.
        self.f.flush()
        os.fdatasync(self.f.fileno())

    def save(self, st: HardState, ents: list[Entry]) -> None:
        """Append entries and the hard state; fsync when Raft requires it (MustSync)."""
        if st == self.state and not ents:
            return
        must_sync = bool(ents) or st.term != self.state.term or st.vote != self.state.vote
        for e in ents:
            self._write(Record(ENTRY_TYPE, marshal_entry(e)))
            self.enti = e.index
        if st != HardState():
            self._write(Record(STATE_TYPE, marshal_hard_state(st)))
            self.state = st
        if self.f.tell() >= SEGMENT_BYTES:
            self.cut()
        elif must_sync:
            self.sync()

    def save_snapshot(self, snap: WalSnapshot) -> None:
        self._write(Record(SNAPSHOT_TYPE, _SNAP.pack(snap.index, snap.term)))
        if self.enti < snap.index:
            self.enti = snap.index
        self.sync()

    def cut(self) -> None:
        """Close the segment and start the next one at the next entry index."""
        self.sync()
        self._open_segment(self.seq + 1, self.enti + 1)
        self.sync()
        _fsync_dir(self.dir)

    def release_lock_to(self, index: int) -> None:
        """Delete segments that only hold entries before index (after a snapshot)."""
        names = sorted(p.name for p in self.dir.iterdir() if p.suffix == ".wal")
        keep_from = 0
        for i, name in enumerate(names):
            if _parse(name)[1] <= index:
                keep_from = i
        for name in names[:keep_from]:
            (self.dir / name).unlink()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None

    @classmethod
    def open(cls, dirpath: str | os.PathLike, snap: WalSnapshot):
        """Open for append after reading everything since snap.

        Returns (wal, metadata, hard_state, entries). A torn tail in the last
        segment is truncated away (etcd's Repair), and the WAL is marked repaired.
        """
        d = Path(dirpath)
        names = sorted(p.name for p in d.iterdir() if p.suffix == ".wal")
        if not names:
            raise WALError("wal: file not found")
        w = cls(d, b"")
        ents: list[Entry] = []
        found_snap = False
        crc = 0
        for i, name in enumerate(names):
            buf = (d / name).read_bytes()
            recs, good, crc, err = decode_all(buf, crc)
            if err is not None:
                if i != len(names) - 1 or not isinstance(err, ErrTornTail):
                    raise WALError(f"wal: {name}: {err}")
                os.truncate(d / name, good)  # repair: drop the torn record
                w.repaired = True
            found_snap |= w._replay(recs, snap, ents)
        if not found_snap:
            raise WALError("wal: snapshot not found")
        w.crc = crc
        w.seq = _parse(names[-1])[0]
        w.f = open(d / names[-1], "ab")  # noqa: SIM115 (kept open)
        w.enti = ents[-1].index if ents else snap.index
        return w, w.metadata, w.state, ents

    def _replay(self, recs: list[Record], snap: WalSnapshot, ents: list[Entry]) -> bool:
        found = False
        for rec in recs:
            if rec.type == ENTRY_TYPE:
                e = unmarshal_entry(rec.data)
                if e.index > snap.index:
                    del ents[e.index - snap.index - 1 :]  # a newer leader overwrote the tail
                    ents.append(e)
            elif rec.type == STATE_TYPE:
                self.state = unmarshal_hard_state(rec.data)
            elif rec.type == METADATA_TYPE:
                if self.metadata and rec.data != self.metadata:
                    raise WALError("wal: conflicting metadata found")
                self.metadata = rec.data
            elif rec.type == SNAPSHOT_TYPE:
                index, term = _SNAP.unpack(rec.data)
                if index == snap.index:
                    if term != snap.term:
                        raise WALError("wal: snapshot mismatch")
                    found = True
        return found
