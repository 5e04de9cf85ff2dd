"""Watch streams and the lessor as pure cores (no sockets, no clock).

Mirrors etcd server/storage/mvcc/watchable_store_test.go (history replay,
compaction cancel), watcher_test.go (IDs, filters, prev_kv) and
server/lease/lessor_test.go (grant/renew/revoke, promote after leader change).
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.mvccpb import kv_pb2
from miniraft.server.etcdserver import txn as etxn
from miniraft.server.lease.lessor import Lessor
from miniraft.server.mvcc.errors import ErrLeaseNotFound
from miniraft.server.mvcc.kvstore import RangeOptions
from miniraft.server.mvcc.watch_stream import WatchStream
from miniraft.server.mvcc.watchable_store import WatchableStore

OPS = st.lists(
    st.tuples(st.sampled_from(["put", "del"]), st.sampled_from([b"a", b"b", b"c"])),
    min_size=1,
    max_size=25,
)


def _apply(s: WatchableStore, ops) -> None:
    for op, key in ops:
        if op == "put":
            etxn.put(s, None, pb.PutRequest(key=key, value=b"v"))
        else:
            etxn.delete_range(s, pb.DeleteRangeRequest(key=key))


def _events(out: list[pb.WatchResponse]) -> list[tuple[int, bytes, int]]:
    return [(ev.type, ev.kv.key, ev.kv.mod_revision) for r in out for ev in r.events]


@settings(max_examples=40, deadline=None)
@given(before=OPS, after=OPS, start=st.integers(min_value=1, max_value=60))
def test_history_replay_equals_live_events(before, after, start) -> None:
    """A watch from an old revision sees exactly what a watch from revision 1 saw."""
    s = WatchableStore()
    live: list[pb.WatchResponse] = []
    WatchStream(s, live.append).create(pb.WatchCreateRequest(key=b"a", range_end=b"\x00"))
    _apply(s, before)
    late: list[pb.WatchResponse] = []
    WatchStream(s, late.append).create(
        pb.WatchCreateRequest(key=b"a", range_end=b"\x00", start_revision=start)
    )
    _apply(s, after)
    want = [e for e in _events(live) if e[2] >= start]
    assert _events(late) == want
    revs = [e[2] for e in want]
    assert revs == sorted(revs)


def test_compacted_watch_is_canceled_with_compact_revision() -> None:
    s = WatchableStore()
    _apply(s, [("put", b"a")] * 5)
    s.compact(4)
    out: list[pb.WatchResponse] = []
    ws = WatchStream(s, out.append)
    wid = ws.create(pb.WatchCreateRequest(key=b"a", start_revision=2))
    assert out[0].created and out[0].watch_id == wid
    assert out[1].canceled and out[1].compact_revision == 4
    assert wid not in ws.watchers


def test_filters_prev_kv_ids_and_cancel() -> None:
    s = WatchableStore()
    out: list[pb.WatchResponse] = []
    ws = WatchStream(s, out.append)
    w1 = ws.create(
        pb.WatchCreateRequest(key=b"k", prev_kv=True, filters=[pb.WatchCreateRequest.NODELETE])
    )
    w2 = ws.create(pb.WatchCreateRequest(key=b"k", watch_id=7))
    assert (w1, w2) == (0, 7)
    _apply(s, [("put", b"k"), ("put", b"k"), ("del", b"k")])
    by = {}
    for r in out:
        if r.events:
            by.setdefault(r.watch_id, []).extend(r.events)
    assert [e.type for e in by[w1]] == [kv_pb2.Event.PUT, kv_pb2.Event.PUT]
    assert by[w1][1].prev_kv.mod_revision == 2 and not by[w1][0].HasField("prev_kv")
    assert [e.type for e in by[w2]][-1] == kv_pb2.Event.DELETE
    ws.cancel(w1)
    assert out[-1].canceled and out[-1].watch_id == w1
    ws.handle(pb.WatchRequest(progress_request=pb.WatchProgressRequest()))
    assert out[-1].watch_id == -1 and out[-1].header.revision == s.rev()


def test_lease_revoke_deletes_keys_and_leader_change_refreshes() -> None:
    s = WatchableStore()
    le = Lessor(min_lease_ttl=2, range_deleter=s.write)
    s.le = le
    le.promote(0, now=0.0)
    le.grant(1, 10, now=0.0)
    le.grant(2, 1, now=0.0)  # raised to the minimum TTL
    assert le.lookup(2).ttl == 2
    etxn.put(s, le, pb.PutRequest(key=b"x", value=b"1", lease=1))
    etxn.put(s, le, pb.PutRequest(key=b"y", value=b"1", lease=1))
    etxn.put(s, le, pb.PutRequest(key=b"y", value=b"2"))  # detaches y
    assert le.lookup(1).keys == {b"x"}
    assert [x.id for x in le.find_expired_leases(now=5.0)] == [2]
    assert le.renew(1, now=9.0) == 10
    le.demote()  # the leader stepped down: nothing expires on a follower
    assert le.find_expired_leases(now=100.0) == []
    le.promote(1.0, now=100.0)  # a new leader: full TTL plus an election timeout
    assert le.lookup(1).remaining(100.0) == 11.0
    rev = s.rev()
    le.revoke(1)
    assert s.rev() == rev + 1
    assert s.read().range(b"x", None, RangeOptions()).kvs == []
    try:
        etxn.put(s, le, pb.PutRequest(key=b"z", value=b"1", lease=1))
        raise AssertionError("a put on a revoked lease must fail")
    except ErrLeaseNotFound:
        pass


def test_progress_notify_only_to_quiet_watchers_that_asked() -> None:
    s = WatchableStore()
    out: list[pb.WatchResponse] = []
    ws = WatchStream(s, out.append)
    quiet = ws.create(pb.WatchCreateRequest(key=b"q", progress_notify=True))
    busy = ws.create(pb.WatchCreateRequest(key=b"b", progress_notify=True))
    ws.create(pb.WatchCreateRequest(key=b"n"))
    _apply(s, [("put", b"b")])
    out.clear()
    ws.progress_tick()
    assert [(r.watch_id, len(r.events), r.header.revision) for r in out] == [(quiet, 0, 2)]
    out.clear()
    ws.progress_tick()  # next interval: both were quiet
    assert sorted(r.watch_id for r in out) == sorted([quiet, busy])


def test_checkpointed_ttl_survives_a_leader_change() -> None:
    le = Lessor(min_lease_ttl=1)
    le.promote(0, now=0.0)
    le.grant(5, 100, now=0.0)
    le.checkpoint(5, 40)  # replicated by the old leader at t=60
    le.demote()
    le.promote(2.0, now=60.0)  # the new leader resumes from the checkpoint
    assert le.lookup(5).remaining(60.0) == 42.0
    le.renew(5, now=61.0)  # a keep-alive clears the checkpoint: full TTL again
    assert le.lookup(5).remaining(61.0) == 100.0
