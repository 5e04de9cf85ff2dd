"""Open a member's data dir, or create it: WAL, snapshots, Raft storage, cluster.

Mirrors etcd server/etcdserver/bootstrap.go (bootstrapWithWAL / new cluster /
joining an existing cluster) and raft's StartNode bootstrap: a new member
writes one ConfChangeAddNode entry per initial member at term 1, committed,
so every member's log starts identical and a later joiner learns the original
members by replaying it. Restart: newest snapshot, then WAL entries after it.
Omitted: discovery, the v2 store, cluster-ID checks against remote peers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from miniraft.raft import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryType,
    HardState,
    MemoryStorage,
    Snapshot,
    marshal_conf_change,
)
from miniraft.server.etcdserver.config import ServerConfig
from miniraft.server.etcdserver.membership import Member, RaftCluster, new_cluster_from_flags
from miniraft.server.wal import wal as walmod
from miniraft.server.wal.snapshotter import ErrNoSnapshot, Snapshotter
from miniraft.server.wal.wal import WAL, WalSnapshot


class BootstrapError(Exception):
    pass


@dataclass
class Bootstrapped:
    member_id: int
    cluster: RaftCluster
    storage: MemoryStorage
    wal: WAL
    snapshotter: Snapshotter
    snapshot: Snapshot | None
    is_new: bool
    remote: RaftCluster | None = None  # the running cluster a joining member fetched


def _metadata(member_id: int, cluster_id: int) -> bytes:
    return json.dumps({"node_id": member_id, "cluster_id": cluster_id}).encode()


def bootstrap_entries(cluster: RaftCluster) -> list[Entry]:
    """raft.StartNode's log: ConfChangeAddNode for each member, term 1, in ID order."""
    ents = []
    for i, mid in enumerate(sorted(cluster.members)):
        m = cluster.members[mid]
        cc = ConfChange(type=ConfChangeType.ADD_NODE, node_id=mid, context=m.to_json())
        ents.append(
            Entry(term=1, index=i + 1, type=EntryType.CONF_CHANGE, data=marshal_conf_change(cc))
        )
    return ents


def open_existing(cfg: ServerConfig) -> Bootstrapped:
    """Restart: the snapshot, then every WAL record after it (repairing a torn tail)."""
    snapper = Snapshotter(cfg.snap_dir)
    try:
        snap = snapper.load()
    except ErrNoSnapshot:
        snap = None
    ws = WalSnapshot(snap.metadata.index, snap.metadata.term) if snap else WalSnapshot()
    w, meta, hs, ents = WAL.open(cfg.wal_dir, ws)
    md = json.loads(meta)
    storage = MemoryStorage()
    if snap is not None:
        storage.apply_snapshot(snap)
    storage.set_hard_state(hs)
    storage.append(ents)
    cluster = RaftCluster(token=cfg.initial_cluster_token, cid=md["cluster_id"])
    return Bootstrapped(md["node_id"], cluster, storage, w, snapper, snap, False)


def create_new(cfg: ServerConfig) -> Bootstrapped:
    """A member of a new cluster: IDs from --initial-cluster, bootstrap entries in the WAL."""
    cluster = new_cluster_from_flags(cfg.initial_cluster, cfg.initial_cluster_token)
    me = cluster.member_by_name(cfg.name)
    if me is None:
        raise BootstrapError(
            f'couldn\'t find local name "{cfg.name}" in the initial cluster configuration'
        )
    if sorted(me.peer_urls) != sorted(cfg.initial_advertise_peer_urls):
        raise BootstrapError(
            "--initial-cluster has "
            f"{cfg.name}={','.join(me.peer_urls)} but missing from "
            f"--initial-advertise-peer-urls={','.join(cfg.initial_advertise_peer_urls)}"
        )
    ents = bootstrap_entries(cluster)
    hs = HardState(term=1, commit=len(ents))
    w = WAL.create(cfg.wal_dir, _metadata(me.id, cluster.cid))
    w.save(hs, ents)
    storage = MemoryStorage()
    storage.append(ents)
    storage.set_hard_state(hs)
    empty = RaftCluster(token=cfg.initial_cluster_token, cid=cluster.cid)
    return Bootstrapped(me.id, empty, storage, w, Snapshotter(cfg.snap_dir), None, True)


def join_existing(cfg: ServerConfig, remote: RaftCluster) -> Bootstrapped:
    """A member added with MemberAdd: find our ID in the running cluster's member list."""
    mine = sorted(cfg.initial_advertise_peer_urls)
    me: Member | None = next(
        (m for m in remote.members.values() if sorted(m.peer_urls) == mine), None
    )
    if me is None:
        raise BootstrapError(
            "member with peer URLs " + ",".join(mine) + " has not been added to the cluster"
        )
    w = WAL.create(cfg.wal_dir, _metadata(me.id, remote.cid))
    cluster = RaftCluster(token=cfg.initial_cluster_token, cid=remote.cid)
    return Bootstrapped(
        me.id, cluster, MemoryStorage(), w, Snapshotter(cfg.snap_dir), None, True, remote
    )


def have_wal(cfg: ServerConfig) -> bool:
    return walmod.exist(cfg.wal_dir)
