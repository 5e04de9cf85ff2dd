"""Raft snapshot files: `<term>-<index>.snap`, CRC-checked, written atomically.

Mirrors etcd server/etcdserver/api/snap/snapshotter.go (SaveSnap, Load,
snapNames, ErrNoSnapshot, ErrCRCMismatch; broken files get a `.broken` suffix).
A file is `u32 crc32 | raftpb.Snapshot bytes`, written to a temp name, fsynced
and renamed so a crash never leaves half a snapshot under the real name.
Omitted: the v3 backend .snap.db files (the snapshot data carries the store).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from miniraft.api.raftpb import raft_pb2
from miniraft.raft import Snapshot
from miniraft.server.raftpb_wire import snapshot_from_pb, snapshot_to_pb

_CRC = struct.Struct("<I")


class ErrNoSnapshot(Exception):
    def __init__(self) -> None:
        super().__init__("snap: no available snapshot")


class Snapshotter:
    def __init__(self, dirpath: str | os.PathLike) -> None:
        self.dir = Path(dirpath)
        self.dir.mkdir(parents=True, exist_ok=True)

    def save_snap(self, snap: Snapshot) -> None:
        if snap.metadata.index == 0:
            return
        p = raft_pb2.Snapshot()
        snapshot_to_pb(snap, p)
        body = p.SerializeToString()
        name = f"{snap.metadata.term:016x}-{snap.metadata.index:016x}.snap"
        tmp = self.dir / (name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(_CRC.pack(zlib.crc32(body)) + body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / name)
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def snap_names(self) -> list[str]:
        """Snapshot file names, newest first."""
        return sorted((p.name for p in self.dir.glob("*.snap")), reverse=True)

    def load(self) -> Snapshot:
        """The newest snapshot that reads back intact; broken ones are renamed aside."""
        for name in self.snap_names():
            try:
                return read_snap(self.dir / name)
            except ValueError:
                os.replace(self.dir / name, self.dir / (name + ".broken"))
        raise ErrNoSnapshot()

    def purge(self, keep: int = 5) -> None:
        for name in self.snap_names()[keep:]:
            (self.dir / name).unlink(missing_ok=True)


def read_snap(path: Path) -> Snapshot:
    buf = path.read_bytes()
    if len(buf) < _CRC.size:
        raise ValueError("snap: empty snapshot")
    (crc,) = _CRC.unpack_from(buf)
    body = buf[_CRC.size :]
    if zlib.crc32(body) != crc:
        raise ValueError("snap: crc mismatch")
    return snapshot_from_pb(raft_pb2.Snapshot.FromString(body))
