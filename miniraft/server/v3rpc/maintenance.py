"""The Maintenance and Cluster services: status, hashes, snapshots, alarms, members.

Mirrors etcd server/etcdserver/api/v3rpc/maintenance.go (Status, HashKV,
Snapshot streamed in 32 KiB chunks and closed by the sha256 of the whole,
Alarm, MoveLeader) and member.go (ClusterServer: MemberAdd/Remove/Update/
List/Promote). Omitted: Defragment, Hash (the v2-era whole-db hash), Downgrade.
"""

from __future__ import annotations

import asyncio

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc
from miniraft.server.etcdserver import backend_snapshot
from miniraft.server.etcdserver import errors as rpcerr
from miniraft.server.etcdserver.config import host_port
from miniraft.server.etcdserver.v3_server import V3Server
from miniraft.server.v3rpc.util import unary

VERSION = "3.4.0-miniraft"
SNAPSHOT_CHUNK = 32 * 1024


def db_size(v3: V3Server) -> int:
    return sum(len(kv.key) + len(kv.value) + 32 for kv, _ in v3.s.kv.backend.values())


class MaintenanceServicer(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, v3: V3Server) -> None:
        self.v3 = v3

    @unary
    async def Status(self, request, context):
        s = self.v3.s
        size = db_size(self.v3)
        me = s.cluster.members.get(s.id)
        return pb.StatusResponse(
            header=self.v3.header(),
            version=VERSION,
            dbSize=size,
            dbSizeInUse=size,
            leader=s.lead,
            raftIndex=s.node.status().hard_state.commit,
            raftTerm=s.term,
            raftAppliedIndex=s.applied_index,
            isLearner=bool(me and me.is_learner),
        )

    @unary
    async def HashKV(self, request, context):
        h, rev, compact = self.v3.s.kv.hash_by_rev(request.revision)
        return pb.HashKVResponse(
            header=self.v3.header(rev), hash=h, compact_revision=compact, hash_revision=rev
        )

    @unary
    async def Alarm(self, request, context):
        return pb.AlarmResponse(header=self.v3.header())  # no alarms are ever raised here

    @unary
    async def MoveLeader(self, request, context):
        s = self.v3.s
        if not s.is_leader():
            raise rpcerr.ErrGRPCNotLeader
        if request.targetID not in s.cluster.voters():
            raise rpcerr.ErrGRPCBadLeaderTransferee
        s.node.transfer_leadership(request.targetID)
        s.kick()
        for _ in range(int(s.cfg.req_timeout * 20)):
            if s.lead == request.targetID:
                return pb.MoveLeaderResponse(header=self.v3.header())
            await asyncio.sleep(0.05)
        raise rpcerr.ErrGRPCTimeout

    async def Snapshot(self, request, context):
        s = self.v3.s
        data = backend_snapshot.encode(s.kv, s.lessor, s.cluster, s.term)
        blob = backend_snapshot.with_hash(data)
        for off in range(0, len(blob), SNAPSHOT_CHUNK):
            chunk = blob[off : off + SNAPSHOT_CHUNK]
            yield pb.SnapshotResponse(
                header=self.v3.header(),
                remaining_bytes=len(blob) - off - len(chunk),
                blob=chunk,
                version=VERSION,
            )


def _check_urls(urls) -> list[str]:
    try:
        for u in urls:
            host_port(u)
    except ValueError:
        raise rpcerr.ErrGRPCMemberBadURLs from None
    if not urls:
        raise rpcerr.ErrGRPCMemberBadURLs
    return list(urls)


class ClusterServicer(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, v3: V3Server) -> None:
        self.v3 = v3

    def _header(self) -> pb.ResponseHeader:
        return self.v3.header(rev=0)  # etcd's cluster header carries no revision

    def _members(self) -> list[pb.Member]:
        return [m.to_pb() for m in sorted(self.v3.s.cluster.members.values(), key=lambda m: m.id)]

    @unary
    async def MemberList(self, request, context):
        return pb.MemberListResponse(header=self._header(), members=self._members())

    @unary
    async def MemberAdd(self, request, context):
        urls = _check_urls(request.peerURLs)
        member, _ = await self.v3.add_member(urls, request.isLearner)
        return pb.MemberAddResponse(header=self._header(), member=member, members=self._members())

    @unary
    async def MemberRemove(self, request, context):
        await self.v3.remove_member(request.ID)
        return pb.MemberRemoveResponse(header=self._header(), members=self._members())

    @unary
    async def MemberUpdate(self, request, context):
        await self.v3.update_member(request.ID, _check_urls(request.peerURLs))
        return pb.MemberUpdateResponse(header=self._header(), members=self._members())

    @unary
    async def MemberPromote(self, request, context):
        await self.v3.promote_member(request.ID)
        return pb.MemberPromoteResponse(header=self._header(), members=self._members())
