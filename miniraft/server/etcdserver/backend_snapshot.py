"""The applied state as bytes: the data of a Raft snapshot and of `etcdctl snapshot save`.

Plays the role of etcd's bbolt file (server/storage/backend) as sent by
server/etcdserver/api/snap (raft snapshots) and v3rpc/maintenance.go
(Snapshot, with a sha256 of the content appended). Layout:
`MRSNAP1\\n | u32 len | JSON meta | records`, each record
`u64 main | u64 sub | u8 tombstone | u32 len | mvccpb.KeyValue`; the meta
counts the records, so zero padding after them is ignored.
The JSON meta holds revisions, the consistent index, leases and members.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass

from miniraft.api.mvccpb import kv_pb2
from miniraft.server.etcdserver.membership import RaftCluster
from miniraft.server.lease.lessor import Lessor
from miniraft.server.mvcc.kvstore import KVStore
from miniraft.server.mvcc.revision import Revision

MAGIC = b"MRSNAP1\n"
_LEN = struct.Struct("<I")
_REC = struct.Struct("<qqBI")


class ErrSnapshotCorrupt(Exception):
    pass


@dataclass
class StateImage:
    """A decoded snapshot: what restore() puts back into a fresh server."""

    meta: dict
    records: list[tuple[Revision, kv_pb2.KeyValue, bool]]


def encode(kv: KVStore, lessor: Lessor, cluster: RaftCluster, term: int = 0) -> bytes:
    meta = {
        "current_rev": kv.current_rev,
        "compact_rev": kv.compact_main_rev,
        "consistent_index": kv.consistent_index,
        "term": term,
        "leases": [[x.id, x.ttl, x.remaining_ttl] for x in lessor.leases()],
        "cluster": cluster.to_dict(),
        "records": len(kv.backend),
    }
    mb = json.dumps(meta).encode()
    parts = [MAGIC, _LEN.pack(len(mb)), mb]
    for rev, kvp, tomb in kv.records():
        body = kvp.SerializeToString(deterministic=True)
        parts.append(_REC.pack(rev.main, rev.sub, 1 if tomb else 0, len(body)))
        parts.append(body)
    return b"".join(parts)


def decode(data: bytes) -> StateImage:
    if not data.startswith(MAGIC):
        raise ErrSnapshotCorrupt("snapshot: not a miniraft snapshot")
    off = len(MAGIC)
    (n,) = _LEN.unpack_from(data, off)
    off += _LEN.size
    meta = json.loads(data[off : off + n])
    off += n
    records = []
    for _ in range(meta["records"]):
        main, sub, tomb, size = _REC.unpack_from(data, off)
        off += _REC.size
        kvp = kv_pb2.KeyValue.FromString(data[off : off + size])
        off += size
        records.append((Revision(main, sub), kvp, bool(tomb)))
    return StateImage(meta, records)


def restore(image: StateImage, kv: KVStore, lessor: Lessor) -> RaftCluster:
    """Load the image into kv and lessor (leases first: keys re-attach to them)."""
    m = image.meta
    lessor.restore([tuple(x) for x in m["leases"]])
    kv.restore(image.records, m["current_rev"], m["compact_rev"], m["consistent_index"])
    return RaftCluster.from_dict(m["cluster"])


def with_hash(data: bytes) -> bytes:
    """What Maintenance.Snapshot streams: the content padded to 512 bytes, then its sha256.

    etcdctl checks `size % 512 == 32` (bbolt files are whole pages) before
    it accepts the trailing hash, so the content is zero-padded like a page.
    """
    data += b"\0" * (-len(data) % 512)
    return data + hashlib.sha256(data).digest()


def verify_hash(blob: bytes) -> bytes:
    data, digest = blob[:-32], blob[-32:]
    if len(blob) < 32 or hashlib.sha256(data).digest() != digest:
        raise ErrSnapshotCorrupt("snapshot: sha256 mismatch (file truncated or corrupt)")
    return data
