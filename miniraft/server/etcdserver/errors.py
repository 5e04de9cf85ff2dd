"""Server-side errors with etcd's exact gRPC codes and texts.

Mirrors etcd api/v3rpc/rpctypes/error.go (ErrGRPC*) and
server/etcdserver/api/v3rpc/util.go (togRPCError: store and lessor errors to
gRPC statuses). Clients match on these strings, so they are copied as facts.
"""

from __future__ import annotations

import grpc

from miniraft.server.lease.lessor import ErrNotPrimary
from miniraft.server.mvcc import errors as mvcc_errors


class GRPCError(Exception):
    """A gRPC status to return: code + etcd's message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _e(code: grpc.StatusCode, msg: str) -> GRPCError:
    return GRPCError(code, msg)


IA, OOR, NF, FP, UA = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAVAILABLE,
)

ErrGRPCEmptyKey = _e(IA, "etcdserver: key is not provided")
ErrGRPCKeyNotFound = _e(IA, "etcdserver: key not found")
ErrGRPCValueProvided = _e(IA, "etcdserver: value is provided")
ErrGRPCLeaseProvided = _e(IA, "etcdserver: lease is provided")
ErrGRPCTooManyOps = _e(IA, "etcdserver: too many operations in txn request")
ErrGRPCDuplicateKey = _e(IA, "etcdserver: duplicate key given in txn request")
ErrGRPCInvalidSortOption = _e(IA, "etcdserver: invalid sort option")
ErrGRPCCompacted = _e(OOR, "etcdserver: mvcc: required revision has been compacted")
ErrGRPCFutureRev = _e(OOR, "etcdserver: mvcc: required revision is a future revision")
ErrGRPCLeaseNotFound = _e(NF, "etcdserver: requested lease not found")
ErrGRPCLeaseExist = _e(FP, "etcdserver: lease already exists")
ErrGRPCLeaseTTLTooLarge = _e(OOR, "etcdserver: too large lease TTL")
ErrGRPCMemberExist = _e(FP, "etcdserver: member ID already exist")
ErrGRPCPeerURLExist = _e(FP, "etcdserver: Peer URLs already exists")
ErrGRPCMemberBadURLs = _e(IA, "etcdserver: given member URLs are invalid")
ErrGRPCMemberNotFound = _e(NF, "etcdserver: member not found")
ErrGRPCMemberNotLearner = _e(FP, "etcdserver: can only promote a learner member")
ErrGRPCLearnerNotReady = _e(
    FP, "etcdserver: can only promote a learner member which is in sync with leader"
)
ErrGRPCRequestTooLarge = _e(IA, "etcdserver: request is too large")
ErrGRPCNoLeader = _e(UA, "etcdserver: no leader")
ErrGRPCNotLeader = _e(FP, "etcdserver: not leader")
ErrGRPCStopped = _e(UA, "etcdserver: server stopped")
ErrGRPCTimeout = _e(UA, "etcdserver: request timed out")
ErrGRPCTimeoutDueToLeaderFail = _e(
    UA, "etcdserver: request timed out, possibly due to previous leader failure"
)
ErrGRPCNotSupportedForLearner = _e(FP, "etcdserver: rpc not supported for learner")
ErrGRPCBadLeaderTransferee = _e(FP, "etcdserver: bad leader transferee")

_BY_TEXT = {
    e.message: e
    for e in [
        ErrGRPCMemberExist,
        ErrGRPCPeerURLExist,
        ErrGRPCMemberNotFound,
        ErrGRPCMemberNotLearner,
        ErrGRPCKeyNotFound,
    ]
}


def to_grpc_error(err: Exception) -> GRPCError:
    """togRPCError: the store's and lessor's errors as etcd's gRPC statuses."""
    if isinstance(err, GRPCError):
        return err
    if isinstance(err, mvcc_errors.ErrCompacted):
        return ErrGRPCCompacted
    if isinstance(err, mvcc_errors.ErrFutureRev):
        return ErrGRPCFutureRev
    if isinstance(err, mvcc_errors.ErrLeaseNotFound):
        return ErrGRPCLeaseNotFound
    if isinstance(err, mvcc_errors.ErrLeaseExists):
        return ErrGRPCLeaseExist
    if isinstance(err, mvcc_errors.ErrLeaseTTLTooLarge):
        return ErrGRPCLeaseTTLTooLarge
    if isinstance(err, ErrNotPrimary):
        return ErrGRPCNotLeader
    if str(err) in _BY_TEXT:
        return _BY_TEXT[str(err)]
    return GRPCError(grpc.StatusCode.UNKNOWN, str(err))
