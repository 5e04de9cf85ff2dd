"""Range, Put, DeleteRange and Txn requests executed against the MVCC store.

Mirrors etcd server/etcdserver/txn/{range,put,delete,txn}.go: limits and sorting
of Range, prev_kv / ignore_value / ignore_lease of Put, and Txn's compare →
path → check → execute, where nested transactions share one revision.
Requests are etcdserverpb messages; errors are the store's (mvcc/errors.py).
Omitted: tracing, metrics, the shared-buffer read mode.
"""

from __future__ import annotations

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.mvccpb import kv_pb2
from miniraft.server.mvcc.errors import (
    ErrCompacted,
    ErrFutureRev,
    ErrKeyNotFound,
    ErrLeaseNotFound,
)
from miniraft.server.mvcc.kvstore import KVStore, RangeOptions, RangeResult

_SORT_KEYS = {
    pb.RangeRequest.KEY: lambda kv: kv.key,
    pb.RangeRequest.VERSION: lambda kv: kv.version,
    pb.RangeRequest.CREATE: lambda kv: kv.create_revision,
    pb.RangeRequest.MOD: lambda kv: kv.mod_revision,
    pb.RangeRequest.VALUE: lambda kv: kv.value,
}


def mk_gte_range(range_end: bytes) -> bytes | None:
    """The client's range_end to the store's: "" one key, "\\0" every key >= key."""
    if not range_end:
        return None
    if range_end == b"\x00":
        return b""
    return range_end


def is_default_ordering(target: int, order: int) -> bool:
    return order == pb.RangeRequest.NONE or (
        target == pb.RangeRequest.KEY and order == pb.RangeRequest.ASCEND
    )


def has_revision_filters(r: pb.RangeRequest) -> bool:
    return bool(
        r.min_mod_revision or r.max_mod_revision or r.min_create_revision or r.max_create_revision
    )


def execute_range(txn, r: pb.RangeRequest) -> pb.RangeResponse:
    limit = r.limit
    if not is_default_ordering(r.sort_target, r.sort_order) or has_revision_filters(r):
        limit = 0
    if limit > 0:
        limit += 1  # one more than asked, to know whether there is `more`
    ro = RangeOptions(limit=limit, rev=r.revision, count_only=r.count_only)
    rr = txn.range(r.key, mk_gte_range(r.range_end), ro)
    _filter(rr, r)
    _sort(rr, r)
    resp = pb.RangeResponse()
    kvs = rr.kvs
    if r.limit > 0 and len(kvs) > r.limit:
        kvs = kvs[: r.limit]
        resp.more = True
    resp.header.revision = rr.rev
    resp.count = rr.count
    if r.keys_only:
        kvs = [_without_value(kv) for kv in kvs]
    resp.kvs.extend(kvs)
    return resp


def _without_value(kv: kv_pb2.KeyValue) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(
        key=kv.key,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


def _filter(rr: RangeResult, r: pb.RangeRequest) -> None:
    kvs = rr.kvs
    if r.max_mod_revision:
        kvs = [kv for kv in kvs if kv.mod_revision <= r.max_mod_revision]
    if r.min_mod_revision:
        kvs = [kv for kv in kvs if kv.mod_revision >= r.min_mod_revision]
    if r.max_create_revision:
        kvs = [kv for kv in kvs if kv.create_revision <= r.max_create_revision]
    if r.min_create_revision:
        kvs = [kv for kv in kvs if kv.create_revision >= r.min_create_revision]
    rr.kvs = kvs


def _sort(rr: RangeResult, r: pb.RangeRequest) -> None:
    order = r.sort_order
    if r.sort_target != pb.RangeRequest.KEY and order == pb.RangeRequest.NONE:
        order = pb.RangeRequest.ASCEND
    if is_default_ordering(r.sort_target, order):
        return
    key = _SORT_KEYS[r.sort_target]
    # etcd uses an unstable sort; a stable one keeps key order among equals
    rr.kvs = sorted(rr.kvs, key=key, reverse=order == pb.RangeRequest.DESCEND)


def check_range(txn, r: pb.RangeRequest) -> None:
    if r.revision == 0:
        return
    if r.revision > txn.rev():
        raise ErrFutureRev()
    if r.revision < txn.first_rev():
        raise ErrCompacted()


def get_prev_kv(txn, p: pb.PutRequest) -> list[kv_pb2.KeyValue] | None:
    if p.ignore_value or p.ignore_lease or p.prev_kv:
        return txn.range(p.key, None, RangeOptions()).kvs
    return None


def check_put(txn, lessor, p: pb.PutRequest) -> list[kv_pb2.KeyValue] | None:
    if p.lease and lessor is not None and lessor.lookup(p.lease) is None:
        raise ErrLeaseNotFound()
    prev = get_prev_kv(txn, p)
    if (p.ignore_value or p.ignore_lease) and not prev:
        raise ErrKeyNotFound()
    return prev


def execute_put(txn, p: pb.PutRequest, prev: list[kv_pb2.KeyValue] | None) -> pb.PutResponse:
    resp = pb.PutResponse()
    value, lease = p.value, p.lease
    if p.ignore_value:
        value = prev[0].value
    if p.ignore_lease:
        lease = prev[0].lease
    if p.prev_kv and prev:
        resp.prev_kv.CopyFrom(prev[0])
    resp.header.revision = txn.put(p.key, value, lease)
    return resp


def put(kv: KVStore, lessor, p: pb.PutRequest) -> pb.PutResponse:
    txn = kv.write()
    try:
        prev = check_put(txn, lessor, p)
        return execute_put(txn, p, prev)
    finally:
        txn.end()


def execute_delete(txn, d: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
    resp = pb.DeleteRangeResponse()
    end = mk_gte_range(d.range_end)
    if d.prev_kv:
        rr = txn.range(d.key, end, RangeOptions())
        resp.prev_kvs.extend(rr.kvs)
    resp.deleted, resp.header.revision = txn.delete_range(d.key, end)
    return resp


def delete_range(kv: KVStore, d: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
    txn = kv.write()
    try:
        return execute_delete(txn, d)
    finally:
        txn.end()


def range_(kv: KVStore, r: pb.RangeRequest) -> pb.RangeResponse:
    return execute_range(kv.read(), r)


def is_txn_readonly(t: pb.TxnRequest) -> bool:
    for op in list(t.success) + list(t.failure):
        which = op.WhichOneof("request")
        if which in ("request_put", "request_delete_range"):
            return False
        if which == "request_txn" and not is_txn_readonly(op.request_txn):
            return False
    return True


def txn(kv: KVStore, lessor, t: pb.TxnRequest) -> pb.TxnResponse:
    """Evaluate the compares, check the chosen branch, then run it in one write txn."""
    read = kv.read()
    path = compare_to_path(read, t)
    check_txn(read, lessor, t, path)
    w = kv.write() if not is_txn_readonly(t) else read
    try:
        resp = pb.TxnResponse()
        execute_txn(w, t, path, resp)
        rev = w.rev() + (1 if w.changes() else 0)
        resp.header.revision = rev
        return resp
    finally:
        w.end()


def compare_to_path(rv, t: pb.TxnRequest) -> list[bool]:
    ok = all(apply_compare(rv, c) for c in t.compare)
    path = [ok]
    for op in t.success if ok else t.failure:
        if op.WhichOneof("request") == "request_txn":
            path.extend(compare_to_path(rv, op.request_txn))
    return path


def check_txn(rv, lessor, t: pb.TxnRequest, path: list[bool]) -> int:
    """Validate the chosen branch before any write; returns nested txns consumed."""
    count = 0
    rest = path[1:]
    for op in t.success if path[0] else t.failure:
        which = op.WhichOneof("request")
        if which == "request_range":
            check_range(rv, op.request_range)
        elif which == "request_put":
            check_put(rv, lessor, op.request_put)
        elif which == "request_txn":
            n = check_txn(rv, lessor, op.request_txn, rest)
            count += n + 1
            rest = rest[n + 1 :]
    return count


def execute_txn(w, t: pb.TxnRequest, path: list[bool], resp: pb.TxnResponse) -> int:
    resp.succeeded = path[0]
    count = 0
    rest = path[1:]
    for op in t.success if path[0] else t.failure:
        which = op.WhichOneof("request")
        out = resp.responses.add()
        if which == "request_range":
            out.response_range.CopyFrom(execute_range(w, op.request_range))
        elif which == "request_put":
            prev = get_prev_kv(w, op.request_put)
            out.response_put.CopyFrom(execute_put(w, op.request_put, prev))
        elif which == "request_delete_range":
            out.response_delete_range.CopyFrom(execute_delete(w, op.request_delete_range))
        elif which == "request_txn":
            sub = out.response_txn
            n = execute_txn(w, op.request_txn, rest, sub)
            sub.header.revision = w.rev() + (1 if w.changes() else 0)
            count += n + 1
            rest = rest[n + 1 :]
    return count


def apply_compare(rv, c: pb.Compare) -> bool:
    try:
        rr = rv.range(c.key, mk_gte_range(c.range_end), RangeOptions())
    except (ErrCompacted, ErrFutureRev):
        return False
    if not rr.kvs:
        if c.target == pb.Compare.VALUE:
            return False
        return compare_kv(c, kv_pb2.KeyValue())
    return all(compare_kv(c, kv) for kv in rr.kvs)


_TARGET_FIELD = {
    pb.Compare.VALUE: ("value", "value"),
    pb.Compare.CREATE: ("create_revision", "create_revision"),
    pb.Compare.MOD: ("mod_revision", "mod_revision"),
    pb.Compare.VERSION: ("version", "version"),
    pb.Compare.LEASE: ("lease", "lease"),
}


def compare_kv(c: pb.Compare, kv: kv_pb2.KeyValue) -> bool:
    kv_field, union_field = _TARGET_FIELD[c.target]
    have = getattr(kv, kv_field)
    want = getattr(c, union_field) if c.WhichOneof("target_union") == union_field else None
    if want is None:
        want = b"" if c.target == pb.Compare.VALUE else 0
    result = (have > want) - (have < want)
    if c.result == pb.Compare.EQUAL:
        return result == 0
    if c.result == pb.Compare.NOT_EQUAL:
        return result != 0
    if c.result == pb.Compare.GREATER:
        return result > 0
    if c.result == pb.Compare.LESS:
        return result < 0
    return True
