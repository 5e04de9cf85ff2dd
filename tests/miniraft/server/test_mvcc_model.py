"""The MVCC store against a plain model that keeps a full copy of every revision.

Checks etcd's revision rules (server/storage/mvcc/kvstore_test.go): one main
revision per write txn, create/mod revisions and versions, tombstones resetting
the version, historical reads, ErrCompacted/ErrFutureRev, and that compaction
never changes a read at or after the compacted revision.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.server.etcdserver import txn as etxn
from miniraft.server.mvcc.errors import ErrCompacted, ErrFutureRev
from miniraft.server.mvcc.kvstore import KVStore, RangeOptions

KEYS = st.sampled_from([b"a", b"ab", b"b", b"c", b"foo"])


class MVCCMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.s = KVStore()
        # revision -> {key: (value, create, mod, version)}
        self.states: dict[int, dict[bytes, tuple[bytes, int, int, int]]] = {1: {}}
        self.rev = 1
        self.compacted = -1

    def _commit(self, new: dict) -> None:
        self.rev += 1
        self.states[self.rev] = new

    @rule(key=KEYS, value=st.binary(max_size=3))
    def put(self, key: bytes, value: bytes) -> None:
        resp = etxn.put(self.s, None, pb.PutRequest(key=key, value=value))
        cur = dict(self.states[self.rev])
        old = cur.get(key)
        rev = self.rev + 1
        cur[key] = (value, old[1] if old else rev, rev, old[3] + 1 if old else 1)
        self._commit(cur)
        assert resp.header.revision == self.rev

    @rule(key=KEYS, prefix=st.booleans())
    def delete(self, key: bytes, prefix: bool) -> None:
        end = key[:-1] + bytes([key[-1] + 1]) if prefix else b""
        resp = etxn.delete_range(self.s, pb.DeleteRangeRequest(key=key, range_end=end))
        cur = dict(self.states[self.rev])
        gone = [k for k in cur if (k.startswith(key) if prefix else k == key)]
        assert resp.deleted == len(gone)
        if gone:
            for k in gone:
                del cur[k]
            self._commit(cur)
        assert resp.header.revision == self.rev

    @rule(keys=st.lists(KEYS, min_size=1, max_size=3, unique=True))
    def txn_puts(self, keys: list[bytes]) -> None:
        ops = [pb.RequestOp(request_put=pb.PutRequest(key=k, value=b"t")) for k in keys]
        resp = etxn.txn(self.s, None, pb.TxnRequest(success=ops))
        assert resp.succeeded
        cur = dict(self.states[self.rev])
        rev = self.rev + 1
        for k in keys:
            old = cur.get(k)
            cur[k] = (b"t", old[1] if old else rev, rev, old[3] + 1 if old else 1)
        self._commit(cur)
        assert resp.header.revision == self.rev

    @precondition(lambda self: self.rev > 1)
    @rule(data=st.data())
    def compact(self, data) -> None:
        rev = data.draw(st.integers(min_value=1, max_value=self.rev))
        if rev <= self.compacted:
            try:
                self.s.compact(rev)
                raise AssertionError("compacting twice must fail")
            except ErrCompacted:
                return
        self.s.compact(rev)
        self.compacted = rev

    @rule(data=st.data())
    def historical_read(self, data) -> None:
        rev = data.draw(st.integers(min_value=0, max_value=self.rev + 1))
        try:
            rr = self.s.read().range(b"", b"", RangeOptions(rev=rev))
        except ErrFutureRev:
            assert rev > self.rev
            return
        except ErrCompacted:
            assert 0 < rev < self.compacted
            return
        assert rev <= self.rev and (rev == 0 or rev >= self.compacted)
        want = self.states[rev or self.rev]
        got = {kv.key: (kv.value, kv.create_revision, kv.mod_revision, kv.version) for kv in rr.kvs}
        assert got == want
        assert [kv.key for kv in rr.kvs] == sorted(want)
        assert rr.rev == self.rev

    @invariant()
    def current_matches(self) -> None:
        assert self.s.rev() == self.rev
        rr = self.s.read().range(b"", b"", RangeOptions(count_only=True))
        assert rr.count == len(self.states[self.rev])


TestMVCC = MVCCMachine.TestCase
TestMVCC.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_range_limit_sort_and_keys_only() -> None:
    s = KVStore()
    for k, v in [(b"k3", b"a"), (b"k1", b"c"), (b"k2", b"b"), (b"k1", b"d")]:
        etxn.put(s, None, pb.PutRequest(key=k, value=v))
    r = etxn.range_(s, pb.RangeRequest(key=b"k", range_end=b"l", limit=2))
    assert [kv.key for kv in r.kvs] == [b"k1", b"k2"] and r.more and r.count == 3
    r = etxn.range_(
        s,
        pb.RangeRequest(
            key=b"k",
            range_end=b"l",
            sort_target=pb.RangeRequest.VALUE,
            sort_order=pb.RangeRequest.DESCEND,
            keys_only=True,
        ),
    )
    assert [kv.key for kv in r.kvs] == [b"k1", b"k2", b"k3"]
    assert all(kv.value == b"" for kv in r.kvs)
    assert etxn.range_(s, pb.RangeRequest(key=b"k1")).kvs[0].value == b"d"  # store unchanged
    r = etxn.range_(s, pb.RangeRequest(key=b"k", range_end=b"l", min_mod_revision=4))
    assert [kv.key for kv in r.kvs] == [b"k2", b"k1"][::-1]


def test_txn_compare_branches_and_nested_share_revision() -> None:
    s = KVStore()
    etxn.put(s, None, pb.PutRequest(key=b"x", value=b"1"))
    cmp = pb.Compare(key=b"x", target=pb.Compare.VALUE, result=pb.Compare.EQUAL, value=b"1")
    inner = pb.TxnRequest(
        compare=[pb.Compare(key=b"y", target=pb.Compare.VERSION, version=0)],
        success=[pb.RequestOp(request_put=pb.PutRequest(key=b"y", value=b"new"))],
    )
    t = pb.TxnRequest(
        compare=[cmp],
        success=[
            pb.RequestOp(request_put=pb.PutRequest(key=b"x", value=b"2", prev_kv=True)),
            pb.RequestOp(request_txn=inner),
        ],
        failure=[pb.RequestOp(request_range=pb.RangeRequest(key=b"x"))],
    )
    resp = etxn.txn(s, None, t)
    assert resp.succeeded and resp.header.revision == 3
    assert resp.responses[0].response_put.prev_kv.value == b"1"
    assert resp.responses[1].response_txn.succeeded
    y = etxn.range_(s, pb.RangeRequest(key=b"y")).kvs[0]
    x = etxn.range_(s, pb.RangeRequest(key=b"x")).kvs[0]
    assert y.mod_revision == x.mod_revision == 3
    again = etxn.txn(s, None, t)
    assert not again.succeeded and again.header.revision == 3
    assert again.responses[0].response_range.kvs[0].value == b"2"
