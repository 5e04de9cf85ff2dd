"""Apply a committed InternalRaftRequest to the store, lessor and cluster.

Mirrors etcd server/etcdserver/apply/apply.go (applierV3backend: Put,
DeleteRange, Txn, Compaction, LeaseGrant, LeaseRevoke, LeaseCheckpoint,
ClusterMemberAttrSet) and uber_applier.go's dispatch on the request field.
Every member runs this on the same entries in the same order, so their stores
stay equal; errors (unknown lease, compacted revision) are results, not crashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from miniraft.api.etcdserverpb import raft_internal_pb2 as ipb
from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.server.etcdserver import txn as etxn
from miniraft.server.etcdserver.membership import RaftCluster
from miniraft.server.lease.lessor import Lessor
from miniraft.server.mvcc.errors import MVCCError
from miniraft.server.mvcc.watchable_store import WatchableStore


@dataclass
class ApplyResult:
    resp: object = None
    err: Exception | None = None


class Applier:
    def __init__(self, kv: WatchableStore, lessor: Lessor, cluster: RaftCluster, clock) -> None:
        self.kv = kv
        self.lessor = lessor
        self.cluster = cluster
        self.clock = clock  # seconds; used only by the primary lessor for expiry

    def apply(self, r: ipb.InternalRaftRequest) -> ApplyResult:
        try:
            if r.HasField("put"):
                return ApplyResult(etxn.put(self.kv, self.lessor, r.put))
            if r.HasField("delete_range"):
                return ApplyResult(etxn.delete_range(self.kv, r.delete_range))
            if r.HasField("txn"):
                return ApplyResult(etxn.txn(self.kv, self.lessor, r.txn))
            if r.HasField("compaction"):
                return ApplyResult(self._compaction(r.compaction))
            if r.HasField("lease_grant"):
                return ApplyResult(self._lease_grant(r.lease_grant))
            if r.HasField("lease_revoke"):
                self.lessor.revoke(r.lease_revoke.ID)
                return ApplyResult(pb.LeaseRevokeResponse())
            if r.HasField("lease_checkpoint"):
                for c in r.lease_checkpoint.checkpoints:
                    self.lessor.checkpoint(c.ID, c.remaining_TTL)
                return ApplyResult(pb.LeaseCheckpointResponse())
            if r.HasField("cluster_member_attr_set"):
                a = r.cluster_member_attr_set
                attrs = a.member_attributes
                self.cluster.update_attributes(a.member_ID, attrs.name, list(attrs.client_urls))
                return ApplyResult(None)
        except MVCCError as e:
            return ApplyResult(err=e)
        fields = [f.name for f, _ in r.ListFields()]
        return ApplyResult(err=ValueError(f"unknown request {fields!r}"))

    def _compaction(self, c: pb.CompactionRequest) -> pb.CompactionResponse:
        self.kv.compact(c.revision)
        resp = pb.CompactionResponse()
        resp.header.revision = self.kv.rev()
        return resp

    def _lease_grant(self, g: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse:
        lease = self.lessor.grant(g.ID, g.TTL, self.clock())
        resp = pb.LeaseGrantResponse(ID=lease.id, TTL=lease.ttl)
        resp.header.revision = self.kv.rev()
        return resp
