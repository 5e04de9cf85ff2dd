"""The raft log and its unstable tail (etcd-io/raft log_test.go, log_unstable_test.go)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniraft.raft import Entry, MemoryStorage, Snapshot, SnapshotMetadata
from miniraft.raft.log import RaftLog
from miniraft.raft.log_unstable import Unstable
from miniraft.raft.raftpb_codec import entry_size, limit_size


def ents(*pairs: tuple[int, int]) -> list[Entry]:
    return [Entry(term=t, index=i) for i, t in pairs]


def log_with(*pairs: tuple[int, int]) -> RaftLog:
    log = RaftLog(MemoryStorage())
    log.append(ents(*pairs))
    return log


def test_find_conflict() -> None:
    log = log_with((1, 1), (2, 2), (3, 3))
    assert log.find_conflict([]) == 0
    assert log.find_conflict(ents((1, 1), (2, 2))) == 0
    assert log.find_conflict(ents((2, 2), (3, 3), (4, 4))) == 4  # new entries
    assert log.find_conflict(ents((2, 1), (3, 4))) == 2  # term mismatch


def test_find_conflict_by_term() -> None:
    # The follower example of raft.go: terms 1 3 3 4 4 5 5 5 6 at idx 1..9.
    log = log_with(*enumerate([1, 3, 3, 4, 4, 5, 5, 5, 6], start=1))
    assert log.find_conflict_by_term(8, 3) == (3, 3)
    assert log.find_conflict_by_term(9, 6) == (9, 6)
    assert log.find_conflict_by_term(9, 0) == (0, 0)


def test_maybe_append_and_commit() -> None:
    log = log_with((1, 1), (2, 2), (3, 3))
    assert log.maybe_append(3, 2, 3, tuple(ents((4, 4)))) is None  # wrong prev term
    assert log.maybe_append(3, 3, 2, tuple(ents((4, 4)))) == 4
    assert log.committed == 2
    assert log.maybe_append(2, 2, 4, tuple(ents((3, 4)))) == 3  # truncates 3..4
    assert [(e.index, e.term) for e in log.all_entries()] == [(1, 1), (2, 2), (3, 4)]
    assert log.committed == 3
    with pytest.raises(AssertionError):
        log.maybe_append(1, 1, 3, tuple(ents((2, 9))))  # would rewrite committed


def test_is_up_to_date() -> None:
    """§5.4.1: compare the last term first, then the length."""
    log = log_with((1, 1), (2, 2), (3, 3))
    assert log.is_up_to_date(3, 3) and log.is_up_to_date(1, 4) and log.is_up_to_date(4, 3)
    assert not log.is_up_to_date(2, 3) and not log.is_up_to_date(9, 2)


def test_maybe_commit_requires_matching_term() -> None:
    log = log_with((1, 1), (2, 2))
    assert not log.maybe_commit(2, 1)
    assert log.maybe_commit(2, 2) and log.committed == 2


def test_next_committed_ents_and_applied() -> None:
    log = log_with((1, 1), (2, 1), (3, 1))
    log.commit_to(2)
    assert [e.index for e in log.next_committed_ents(True)] == [1, 2]
    assert [e.index for e in log.next_committed_ents(False)] == []  # not stable yet
    log.accept_applying(2)
    assert log.next_committed_ents(True) == []
    log.applied_to(2)
    assert log.applied == 2


def test_stable_to_keeps_unstable_on_term_mismatch() -> None:
    log = log_with((1, 1), (2, 1))
    log.stable_to(2, 5)  # an old write of index 2 at another term
    assert log.unstable.offset == 1
    log.stable_to(2, 1)
    assert log.unstable.offset == 3 and log.unstable.entries == []


def test_compaction_through_storage() -> None:
    s = MemoryStorage()
    s.append(ents(*[(i, 1) for i in range(1, 11)]))
    s.compact(5)
    log = RaftLog(s)
    assert log.first_index() == 6 and log.last_index() == 10
    assert log.term(5) == 1
    with pytest.raises(Exception, match="compaction"):
        log.term(4)


def test_unstable_restore_and_truncate() -> None:
    u = Unstable(5)
    u.truncate_and_append(ents((5, 1), (6, 1), (7, 1)))
    u.truncate_and_append(ents((6, 2)))
    assert [(e.index, e.term) for e in u.entries] == [(5, 1), (6, 2)]
    u.truncate_and_append(ents((4, 3)))
    assert u.offset == 4 and [(e.index, e.term) for e in u.entries] == [(4, 3)]
    snap = Snapshot(metadata=SnapshotMetadata(index=9, term=3))
    u.restore(snap)
    assert u.maybe_first_index() == 10 and u.maybe_last_index() == 9 and u.maybe_term(9) == 3


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 5)), max_size=40))
def test_log_terms_never_decrease_and_indexes_are_dense(ops) -> None:
    """Appending anywhere after committed keeps the log dense (Log Matching's base)."""
    log = RaftLog(MemoryStorage())
    for at, bump in ops:
        at = max(1, min(at, log.last_index() + 1))
        prev_term = log.zero_term_on_err(at - 1)
        log.append([Entry(term=prev_term + bump, index=at)])
    es = log.all_entries()
    assert [e.index for e in es] == list(range(1, len(es) + 1))
    assert all(a.term <= b.term for a, b in zip(es, es[1:], strict=False))


@given(
    st.lists(
        st.tuples(st.integers(0, 2**40), st.integers(0, 2**40), st.binary(max_size=300)),
        min_size=1,
        max_size=20,
    ),
    st.integers(0, 3000),
)
def test_limit_size_is_the_longest_prefix_within_the_limit(ents, max_size) -> None:
    """util.go limitSize: the longest prefix whose proto size fits, never empty
    (the fast path must agree with summing entry sizes one by one)."""
    es = [Entry(term=t, index=i, data=d) for t, i, d in ents]
    got = limit_size(es, max_size)
    sizes = [entry_size(e) for e in es]
    want = 1
    while want < len(es) and sum(sizes[: want + 1]) <= max_size:
        want += 1
    assert got == es[:want]
