"""The KV service: request validation, then the server.

Mirrors etcd server/etcdserver/api/v3rpc/key.go (kvServer, checkRangeRequest,
checkPutRequest, checkDeleteRequest, checkTxnRequest, checkIntervals with its
duplicate-key rule, the --max-txn-ops limit).
"""

from __future__ import annotations

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc
from miniraft.server.etcdserver import errors as rpcerr
from miniraft.server.etcdserver.v3_server import V3Server
from miniraft.server.v3rpc.util import unary


def check_range_request(r: pb.RangeRequest) -> None:
    if not r.key:
        raise rpcerr.ErrGRPCEmptyKey
    if r.sort_order not in pb.RangeRequest.SortOrder.values():
        raise rpcerr.ErrGRPCInvalidSortOption
    if r.sort_target not in pb.RangeRequest.SortTarget.values():
        raise rpcerr.ErrGRPCInvalidSortOption


def check_put_request(r: pb.PutRequest) -> None:
    if not r.key:
        raise rpcerr.ErrGRPCEmptyKey
    if r.ignore_value and r.value:
        raise rpcerr.ErrGRPCValueProvided
    if r.ignore_lease and r.lease:
        raise rpcerr.ErrGRPCLeaseProvided


def check_delete_request(r: pb.DeleteRangeRequest) -> None:
    if not r.key:
        raise rpcerr.ErrGRPCEmptyKey


def check_txn_request(r: pb.TxnRequest, max_ops: int) -> None:
    if len(r.compare) > max_ops or len(r.success) > max_ops or len(r.failure) > max_ops:
        raise rpcerr.ErrGRPCTooManyOps
    for c in r.compare:
        if not c.key:
            raise rpcerr.ErrGRPCEmptyKey
    for ops in (r.success, r.failure):
        for op in ops:
            check_request_op(op, max_ops)
        check_intervals(ops)


def check_request_op(op: pb.RequestOp, max_ops: int) -> None:
    which = op.WhichOneof("request")
    if which == "request_range":
        check_range_request(op.request_range)
    elif which == "request_put":
        check_put_request(op.request_put)
    elif which == "request_delete_range":
        check_delete_request(op.request_delete_range)
    elif which == "request_txn":
        check_txn_request(op.request_txn, max_ops)


def _puts(ops) -> set[bytes]:
    keys: set[bytes] = set()
    for op in ops:
        which = op.WhichOneof("request")
        if which == "request_put":
            if op.request_put.key in keys:
                raise rpcerr.ErrGRPCDuplicateKey
            keys.add(op.request_put.key)
    return keys


def check_intervals(ops) -> None:
    """No key may be put twice, or put and deleted, in one branch (etcd's checkIntervals)."""
    puts = _puts(ops)
    for op in ops:
        if op.WhichOneof("request") != "request_delete_range":
            continue
        d = op.request_delete_range
        for k in puts:
            end = d.range_end
            inside = k == d.key if not end else (k >= d.key and (end == b"\x00" or k < end))
            if inside:
                raise rpcerr.ErrGRPCDuplicateKey


class KVServicer(rpc_pb2_grpc.KVServicer):
    def __init__(self, v3: V3Server) -> None:
        self.v3 = v3

    @unary
    async def Range(self, request, context):
        check_range_request(request)
        return await self.v3.range(request)

    @unary
    async def Put(self, request, context):
        check_put_request(request)
        return await self.v3.put(request)

    @unary
    async def DeleteRange(self, request, context):
        check_delete_request(request)
        return await self.v3.delete_range(request)

    @unary
    async def Txn(self, request, context):
        check_txn_request(request, self.v3.s.cfg.max_txn_ops)
        return await self.v3.txn(request)

    @unary
    async def Compact(self, request, context):
        return await self.v3.compact(request)
