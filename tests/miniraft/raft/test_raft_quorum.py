"""Majority and joint quorums (etcd-io/raft quorum/quick_test.go style): the
committed index must equal a brute-force definition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from miniraft.raft.quorum import JointConfig, MajorityConfig, VoteResult

IDS = st.sets(st.integers(1, 9), max_size=7)


def brute_committed(ids: set[int], acked: dict[int, int]) -> int:
    """The largest i such that a majority acked at least i."""
    if not ids:
        return (1 << 64) - 1
    best = 0
    for i in sorted(set(acked.values()) | {0}):
        if sum(1 for v in ids if acked.get(v, 0) >= i) > len(ids) // 2:
            best = max(best, i)
    return best


@settings(max_examples=50, deadline=None)
@given(IDS, st.dictionaries(st.integers(1, 9), st.integers(0, 20)))
def test_majority_committed_index(ids, acked) -> None:
    assert MajorityConfig(ids).committed_index(acked.get) == brute_committed(ids, acked)


@settings(max_examples=50, deadline=None)
@given(IDS, IDS, st.dictionaries(st.integers(1, 9), st.integers(0, 20)))
def test_joint_is_min_of_halves(a, b, acked) -> None:
    j = JointConfig(MajorityConfig(a), MajorityConfig(b))
    assert j.committed_index(acked.get) == min(brute_committed(a, acked), brute_committed(b, acked))


def test_vote_results() -> None:
    c = MajorityConfig({1, 2, 3})
    assert c.vote_result({}) == VoteResult.VOTE_PENDING
    assert c.vote_result({1: True, 2: True}) == VoteResult.VOTE_WON
    assert c.vote_result({1: False, 2: False}) == VoteResult.VOTE_LOST
    assert c.vote_result({1: True, 2: False}) == VoteResult.VOTE_PENDING
    assert MajorityConfig().vote_result({}) == VoteResult.VOTE_WON
    j = JointConfig(MajorityConfig({1, 2, 3}), MajorityConfig({3, 4, 5}))
    assert j.vote_result({1: True, 2: True, 3: True}) == VoteResult.VOTE_PENDING
    assert j.vote_result({1: True, 2: True, 4: True, 5: True}) == VoteResult.VOTE_WON
    assert j.vote_result({1: True, 2: True, 4: False, 5: False}) == VoteResult.VOTE_LOST
    assert str(j) == "(1 2 3)&&(3 4 5)"
