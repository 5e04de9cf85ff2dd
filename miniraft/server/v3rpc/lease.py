"""The Lease service: grant, revoke, keep-alive stream, time-to-live, list.

Mirrors etcd server/etcdserver/api/v3rpc/lease.go (LeaseServer; a keep-alive
for an unknown or expired lease answers TTL 0, a time-to-live for one answers
TTL -1, as etcd does).
"""

from __future__ import annotations

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc
from miniraft.server.etcdserver import errors as rpcerr
from miniraft.server.etcdserver.v3_server import V3Server
from miniraft.server.mvcc.errors import ErrLeaseNotFound
from miniraft.server.v3rpc.util import unary


class LeaseServicer(rpc_pb2_grpc.LeaseServicer):
    def __init__(self, v3: V3Server) -> None:
        self.v3 = v3

    @unary
    async def LeaseGrant(self, request, context):
        return await self.v3.lease_grant(request)

    @unary
    async def LeaseRevoke(self, request, context):
        return await self.v3.lease_revoke(request)

    @unary
    async def LeaseTimeToLive(self, request, context):
        try:
            return await self.v3.lease_time_to_live(request)
        except ErrLeaseNotFound:
            return pb.LeaseTimeToLiveResponse(header=self.v3.header(), ID=request.ID, TTL=-1)

    @unary
    async def LeaseLeases(self, request, context):
        resp = pb.LeaseLeasesResponse(header=self.v3.header())
        resp.leases.extend(pb.LeaseStatus(ID=x.id) for x in self.v3.s.lessor.leases())
        return resp

    async def LeaseKeepAlive(self, request_iterator, context):
        async for req in request_iterator:
            try:
                ttl = await self.v3.lease_renew(req.ID)
            except ErrLeaseNotFound:
                ttl = 0
            except rpcerr.GRPCError as e:
                await context.abort(e.code, e.message)
            yield pb.LeaseKeepAliveResponse(header=self.v3.header(), ID=req.ID, TTL=ttl)
