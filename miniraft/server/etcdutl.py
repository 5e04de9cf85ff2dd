"""`python -m miniraft snapshot restore FILE`: a new data dir from a backup (etcdutl's flags).

Mirrors etcd etcdutl/etcdutl/snapshot_command.go and etcdutl/snapshot/v3_snapshot.go
(Restore: verify the sha256 the Snapshot RPC appended unless --skip-hash-check,
give the data new member and cluster IDs from --initial-cluster and
--initial-cluster-token, write a WAL whose first entries add those members,
and a Raft snapshot at that index holding the restored store). Every member
of the new cluster is restored from the same file with its own --name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from miniraft.raft import ConfState, HardState, Snapshot, SnapshotMetadata
from miniraft.server.etcdserver import backend_snapshot
from miniraft.server.etcdserver.bootstrap import _metadata, bootstrap_entries
from miniraft.server.etcdserver.membership import new_cluster_from_flags
from miniraft.server.lease.lessor import Lessor
from miniraft.server.mvcc.kvstore import KVStore
from miniraft.server.wal.snapshotter import Snapshotter
from miniraft.server.wal.wal import WAL, WalSnapshot


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m miniraft snapshot restore")
    a = p.add_argument
    a("file", help="a file written by `etcdctl snapshot save`")
    a("--name", default="default")
    a("--data-dir", default=None, help="default: NAME.etcd")
    a("--wal-dir", default=None)
    a("--initial-cluster", default="default=http://localhost:2380")
    a("--initial-cluster-token", default="etcd-cluster")
    a("--initial-advertise-peer-urls", default="http://localhost:2380")
    a("--skip-hash-check", action="store_true")
    return p


def restore(ns: argparse.Namespace) -> str:
    """Write the new data dir; returns a one-line summary."""
    blob = Path(ns.file).read_bytes()
    try:
        data = backend_snapshot.verify_hash(blob)
    except backend_snapshot.ErrSnapshotCorrupt:
        if not ns.skip_hash_check:
            raise
        data = blob  # a file without the trailing hash (e.g. copied out of a data dir)
    image = backend_snapshot.decode(data)
    cluster = new_cluster_from_flags(ns.initial_cluster, ns.initial_cluster_token)
    me = cluster.member_by_name(ns.name)
    if me is None:
        raise ValueError(f"couldn't find local name {ns.name!r} in --initial-cluster")
    data_dir = Path(ns.data_dir or f"{ns.name}.etcd")
    if (data_dir / "member").exists():
        raise FileExistsError(f"data-dir {str(data_dir)!r} exists")
    ents = bootstrap_entries(cluster)
    index = len(ents)
    kv, lessor = KVStore(), Lessor(1)
    kv.le = lessor
    backend_snapshot.restore(image, kv, lessor)
    kv.consistent_index = index
    state = backend_snapshot.encode(kv, lessor, cluster)
    cs = ConfState(voters=tuple(sorted(cluster.members)))
    snap = Snapshot(data=state, metadata=SnapshotMetadata(conf_state=cs, index=index, term=1))
    wal_dir = Path(ns.wal_dir) if ns.wal_dir else data_dir / "member" / "wal"
    w = WAL.create(wal_dir, _metadata(me.id, cluster.cid))
    w.save(HardState(term=1, commit=index), ents)
    Snapshotter(data_dir / "member" / "snap").save_snap(snap)
    w.save_snapshot(WalSnapshot(index, 1))
    w.close()
    return (
        f"restored snapshot {ns.file} to {data_dir} as member {me.id:x} of cluster "
        f"{cluster.cid:x} (revision {kv.current_rev}, {len(image.records)} records)"
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[:2] != ["snapshot", "restore"]:
        print("usage: python -m miniraft snapshot restore FILE [flags]", file=sys.stderr)
        return 2
    ns = build_parser().parse_args(argv[2:])
    try:
        print(restore(ns))
    except (OSError, ValueError, backend_snapshot.ErrSnapshotCorrupt) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0
