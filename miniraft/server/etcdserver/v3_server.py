"""The request side of EtcdServer: propose and wait, linearizable reads, leases, members.

Mirrors etcd server/etcdserver/v3_server.go (Range, Put, DeleteRange, Txn,
Compact, LeaseGrant/Revoke/Renew/TimeToLive/Leases, linearizableReadLoop,
processInternalRaftRequestOnce), server.go (AddMember, RemoveMember,
PromoteMember, publishV3, revokeExpiredLeases) and lease forwarding to the
leader (etcd forwards over peer HTTP; here over the leader's client gRPC).
"""

from __future__ import annotations

import asyncio
import struct
import time

import grpc

from miniraft.api.etcdserverpb import raft_internal_pb2 as ipb
from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc
from miniraft.raft import NONE, ConfChange, ConfChangeType, ErrProposalDropped
from miniraft.server.etcdserver import errors as rpcerr
from miniraft.server.etcdserver import txn as etxn
from miniraft.server.etcdserver.membership import Member, compute_member_id
from miniraft.server.etcdserver.server import EtcdServer
from miniraft.server.lease.lessor import ErrNotPrimary
from miniraft.server.mvcc.errors import ErrLeaseNotFound


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class V3Server:
    def __init__(self, s: EtcdServer) -> None:
        self.s = s
        self.read_next: asyncio.Future | None = None
        self.read_wake = asyncio.Event()
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.revoking: set[int] = set()
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self._linearizable_read_loop(), name="read-index"),
            asyncio.create_task(self._revoke_expired_leases(), name="lease-expiry"),
            asyncio.create_task(self._publish(), name="publish"),
        ]

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for ch in self.channels.values():
            await ch.close()

    def header(self, rev: int | None = None) -> pb.ResponseHeader:
        s = self.s
        return pb.ResponseHeader(
            cluster_id=s.cluster.cid,
            member_id=s.id,
            revision=s.kv.rev() if rev is None else rev,
            raft_term=s.term,
        )

    # -- proposals ---------------------------------------------------------------------

    async def process_internal_raft_request(self, r: ipb.InternalRaftRequest):
        s = self.s
        rid = s.reqid.next()
        r.header.ID = rid
        data = r.SerializeToString()
        if len(data) > s.cfg.max_request_bytes:
            raise rpcerr.ErrGRPCRequestTooLarge
        if s.lead == NONE:
            raise rpcerr.ErrGRPCNoLeader
        fut = s.w.register(rid)
        s.propose(rid, data)  # batched with its neighbours into one MsgProp
        return await self._wait_result(fut, rid)

    async def _wait_result(self, fut: asyncio.Future, rid: int):
        s = self.s
        leader_changed = s.leader_changed
        # One timer on the request's own future (cheaper than wait_for's wrapper,
        # and every write passes here).
        timer = asyncio.get_running_loop().call_later(s.cfg.req_timeout, _expire, fut)
        try:
            result = await fut
        except TimeoutError:
            s.w.cancel(rid)
            if leader_changed.is_set():
                raise rpcerr.ErrGRPCTimeoutDueToLeaderFail from None
            raise rpcerr.ErrGRPCTimeout from None
        finally:
            timer.cancel()
        if result.err is not None:
            raise rpcerr.to_grpc_error(result.err)
        return result.resp

    # -- reads -------------------------------------------------------------------------

    async def linearizable_read_notify(self) -> None:
        """Wait until this member has applied everything committed when we asked."""
        if self.read_next is None or self.read_next.done():
            self.read_next = asyncio.get_running_loop().create_future()
        fut = self.read_next
        self.read_wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.s.cfg.req_timeout)
        except TimeoutError:
            raise rpcerr.ErrGRPCTimeout from None

    async def _linearizable_read_loop(self) -> None:
        s = self.s
        while True:
            await self.read_wake.wait()
            self.read_wake.clear()
            batch, self.read_next = self.read_next, None
            if batch is None:
                continue
            try:
                index = await self._request_current_index()
                await s.applied_wait.wait(index)
                batch.set_result(None)
            except rpcerr.GRPCError as e:
                batch.set_exception(e)
                batch.exception()  # mark retrieved: waiters may have timed out

    async def _request_current_index(self) -> int:
        """One ReadIndex round, retried until the request timeout (etcd retries too)."""
        s = self.s
        deadline = time.monotonic() + s.cfg.req_timeout
        while time.monotonic() < deadline:
            ctx = struct.pack(">Q", s.reqid.next())
            s.node.read_index(ctx)
            s.kick()
            retry_at = time.monotonic() + 0.5
            while time.monotonic() < retry_at:
                if ctx in s.read_states:
                    return s.read_states.pop(ctx)
                s.read_state_ev.clear()
                try:
                    await asyncio.wait_for(s.read_state_ev.wait(), retry_at - time.monotonic())
                except TimeoutError:
                    break
        raise rpcerr.ErrGRPCTimeout

    async def range(self, r: pb.RangeRequest) -> pb.RangeResponse:
        if not r.serializable:
            await self.linearizable_read_notify()
        try:
            resp = etxn.range_(self.s.kv, r)
        except Exception as e:
            raise rpcerr.to_grpc_error(e) from None
        resp.header.CopyFrom(self.header(resp.header.revision))
        return resp

    # -- writes ------------------------------------------------------------------------

    async def _write(self, **field) -> object:
        resp = await self.process_internal_raft_request(ipb.InternalRaftRequest(**field))
        resp.header.CopyFrom(self.header(resp.header.revision))
        return resp

    async def put(self, r: pb.PutRequest) -> pb.PutResponse:
        return await self._write(put=r)

    async def delete_range(self, r: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        return await self._write(delete_range=r)

    async def txn(self, r: pb.TxnRequest) -> pb.TxnResponse:
        if etxn.is_txn_readonly(r):
            if not _txn_serializable(r):
                await self.linearizable_read_notify()
            try:
                resp = etxn.txn(self.s.kv, self.s.lessor, r)
            except Exception as e:
                raise rpcerr.to_grpc_error(e) from None
            resp.header.CopyFrom(self.header(resp.header.revision))
            return resp
        return await self._write(txn=r)

    async def compact(self, r: pb.CompactionRequest) -> pb.CompactionResponse:
        return await self._write(compaction=r)

    # -- leases ------------------------------------------------------------------------

    async def lease_grant(self, r: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse:
        while r.ID == 0:
            r.ID = self.s.reqid.next() & ((1 << 63) - 1)
        return await self._write(lease_grant=r)

    async def lease_revoke(self, r: pb.LeaseRevokeRequest) -> pb.LeaseRevokeResponse:
        return await self._write(lease_revoke=r)

    async def lease_renew(self, lease_id: int) -> int:
        """Keep-alive: the leader restarts the TTL; a follower forwards to the leader."""
        s = self.s
        if s.is_leader():
            try:
                return s.lessor.renew(lease_id, time.monotonic())
            except ErrNotPrimary:
                pass
        stub = rpc_pb2_grpc.LeaseStub(self._leader_channel())
        call = stub.LeaseKeepAlive()
        try:
            await call.write(pb.LeaseKeepAliveRequest(ID=lease_id))
            resp = await asyncio.wait_for(call.read(), s.cfg.req_timeout)
        except (grpc.aio.AioRpcError, TimeoutError):
            raise rpcerr.ErrGRPCTimeout from None
        finally:
            call.cancel()
        if resp.TTL <= 0:
            raise ErrLeaseNotFound()
        return resp.TTL

    async def lease_time_to_live(self, r: pb.LeaseTimeToLiveRequest):
        s = self.s
        if not s.is_leader():
            stub = rpc_pb2_grpc.LeaseStub(self._leader_channel())
            try:
                return await stub.LeaseTimeToLive(r, timeout=s.cfg.req_timeout)
            except grpc.aio.AioRpcError as e:
                raise rpcerr.GRPCError(e.code(), e.details()) from None
        lease = s.lessor.lookup(r.ID)
        if lease is None:
            raise ErrLeaseNotFound()
        resp = pb.LeaseTimeToLiveResponse(
            header=self.header(),
            ID=r.ID,
            TTL=int(lease.remaining(time.monotonic())),
            grantedTTL=lease.ttl,
        )
        if r.keys:
            resp.keys.extend(sorted(lease.keys))
        return resp

    def _leader_channel(self) -> grpc.aio.Channel:
        m = self.s.leader_member()
        if m is None or not m.client_urls:
            raise rpcerr.ErrGRPCNoLeader
        target = m.client_urls[0].split("://", 1)[-1]
        ch = self.channels.get(target)
        if ch is None:
            ch = self.channels[target] = grpc.aio.insecure_channel(target)
        return ch

    async def _revoke_expired_leases(self) -> None:
        s = self.s
        last_checkpoint = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for lease in s.lessor.find_expired_leases(now):
                if lease.id not in self.revoking:
                    self.revoking.add(lease.id)
                    asyncio.create_task(self._revoke(lease.id))
            due = now - last_checkpoint >= s.cfg.lease_checkpoint_interval
            if s.cfg.enable_lease_checkpoint and s.is_leader() and due:
                last_checkpoint = now
                asyncio.create_task(self._checkpoint(now))

    async def _revoke(self, lease_id: int) -> None:
        try:
            await self.lease_revoke(pb.LeaseRevokeRequest(ID=lease_id))
            self.s.log.info("revoked expired lease", lease=f"{lease_id:x}")
        except rpcerr.GRPCError:
            pass
        finally:
            self.revoking.discard(lease_id)

    async def _checkpoint(self, now: float) -> None:
        cps = [
            pb.LeaseCheckpoint(ID=x.id, remaining_TTL=max(1, int(x.remaining(now))))
            for x in self.s.lessor.leases()
        ]
        if cps:
            req = pb.LeaseCheckpointRequest(checkpoints=cps)
            try:
                await self.process_internal_raft_request(
                    ipb.InternalRaftRequest(lease_checkpoint=req)
                )
            except rpcerr.GRPCError:
                pass

    async def _publish(self) -> None:
        """publishV3: put our name and client URLs into the replicated member list."""
        s = self.s
        req = ipb.InternalRaftRequest()
        req.cluster_member_attr_set.member_ID = s.id
        req.cluster_member_attr_set.member_attributes.name = s.cfg.name
        req.cluster_member_attr_set.member_attributes.client_urls.extend(
            s.cfg.advertise_client_urls
        )
        while True:
            try:
                await self.process_internal_raft_request(req)
                s.log.info("published local member to cluster", name=s.cfg.name)
                return
            except rpcerr.GRPCError:
                await asyncio.sleep(0.2)

    # -- membership --------------------------------------------------------------------

    async def _configure(self, cc: ConfChange) -> list[pb.Member]:
        s = self.s
        if s.lead == NONE:
            raise rpcerr.ErrGRPCNoLeader
        fut = s.w.register(cc.id)
        try:
            s.node.propose_conf_change(cc)
        except ErrProposalDropped:
            s.w.cancel(cc.id)
            raise rpcerr.ErrGRPCNoLeader from None
        s.kick()
        await self._wait_result(fut, cc.id)
        return [m.to_pb() for m in s.cluster.members.values()]

    async def add_member(self, urls: list[str], learner: bool) -> tuple[pb.Member, list]:
        s = self.s
        m = Member(
            compute_member_id(urls, s.cluster.token, int(time.time())),
            peer_urls=sorted(urls),
            is_learner=learner,
        )
        try:
            s.cluster.validate_add(m)
        except Exception as e:
            raise rpcerr.to_grpc_error(e) from None
        t = ConfChangeType.ADD_LEARNER_NODE if learner else ConfChangeType.ADD_NODE
        cc = ConfChange(type=t, node_id=m.id, context=m.to_json(), id=s.reqid.next())
        return m.to_pb(), await self._configure(cc)

    async def remove_member(self, mid: int) -> list:
        s = self.s
        try:
            s.cluster.validate_remove(mid)
        except Exception as e:
            raise rpcerr.to_grpc_error(e) from None
        cc = ConfChange(type=ConfChangeType.REMOVE_NODE, node_id=mid, id=s.reqid.next())
        return await self._configure(cc)

    async def promote_member(self, mid: int) -> list:
        s = self.s
        try:
            s.cluster.validate_promote(mid)
        except Exception as e:
            raise rpcerr.to_grpc_error(e) from None
        if s.is_leader():
            pr = s.node.status().progress.get(mid)
            last = s.storage.last_index()
            if pr is None or pr.match < last * 9 // 10:  # etcd: within 90% of the leader
                raise rpcerr.ErrGRPCLearnerNotReady
        m = Member(mid, peer_urls=s.cluster.members[mid].peer_urls)
        cc = ConfChange(
            type=ConfChangeType.ADD_NODE, node_id=mid, context=m.to_json(), id=s.reqid.next()
        )
        return await self._configure(cc)

    async def update_member(self, mid: int, urls: list[str]) -> list:
        s = self.s
        if mid not in s.cluster.members:
            raise rpcerr.ErrGRPCMemberNotFound
        m = Member(mid, peer_urls=sorted(urls))
        cc = ConfChange(
            type=ConfChangeType.UPDATE_NODE, node_id=mid, context=m.to_json(), id=s.reqid.next()
        )
        return await self._configure(cc)


def _txn_serializable(r: pb.TxnRequest) -> bool:
    for op in list(r.success) + list(r.failure):
        if op.WhichOneof("request") != "request_range" or not op.request_range.serializable:
            return False
    return True
