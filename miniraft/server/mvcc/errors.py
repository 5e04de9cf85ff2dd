"""Errors of the MVCC store and the lessor, as etcd names them.

Mirrors etcd server/storage/mvcc/kvstore.go (ErrCompacted, ErrFutureRev),
key_index.go (ErrRevisionNotFound) and server/lease/lessor.go (ErrLeaseNotFound,
ErrLeaseExists, ErrLeaseTTLTooLarge). The gRPC layer maps them to the
`etcdserver: ...` texts in miniraft/server/rpctypes.py.
"""

from __future__ import annotations


class MVCCError(Exception):
    """Base of the store's errors; str() is etcd's text."""


class ErrCompacted(MVCCError):
    def __init__(self) -> None:
        super().__init__("mvcc: required revision has been compacted")


class ErrFutureRev(MVCCError):
    def __init__(self) -> None:
        super().__init__("mvcc: required revision is a future revision")


class ErrRevisionNotFound(MVCCError):
    def __init__(self) -> None:
        super().__init__("mvcc: revision not found")


class ErrKeyNotFound(MVCCError):
    """Put with ignore_value/ignore_lease on a missing key (etcdserver/errors)."""

    def __init__(self) -> None:
        super().__init__("etcdserver: key not found")


class ErrLeaseNotFound(MVCCError):
    def __init__(self) -> None:
        super().__init__("lease not found")


class ErrLeaseExists(MVCCError):
    def __init__(self) -> None:
        super().__init__("lease already exists")


class ErrLeaseTTLTooLarge(MVCCError):
    def __init__(self) -> None:
        super().__init__("too large lease TTL")
