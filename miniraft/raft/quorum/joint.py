"""A joint quorum: a majority of the incoming AND of the outgoing config.

Mirrors etcd-io/raft quorum/joint.go (JointConfig). During joint consensus
(§6 of the Raft paper, C_old,new) every decision needs both majorities, so no
two disjoint majorities (one old-only, one new-only) can decide differently.
`self[0]` is the incoming config, `self[1]` the outgoing (empty when not joint).
"""

from __future__ import annotations

from collections.abc import Callable

from miniraft.raft.quorum.majority import MajorityConfig, VoteResult


class JointConfig(tuple):
    def __new__(
        cls, incoming: MajorityConfig | None = None, outgoing: MajorityConfig | None = None
    ) -> JointConfig:
        return super().__new__(cls, (incoming or MajorityConfig(), outgoing or MajorityConfig()))

    def __str__(self) -> str:
        if self[1]:
            return f"{self[0]}&&{self[1]}"
        return str(self[0])

    def ids(self) -> set[int]:
        return set(self[0]) | set(self[1])

    def committed_index(self, acked: Callable[[int], int | None]) -> int:
        return min(self[0].committed_index(acked), self[1].committed_index(acked))

    def vote_result(self, votes: dict[int, bool]) -> VoteResult:
        r1, r2 = self[0].vote_result(votes), self[1].vote_result(votes)
        if r1 == r2:
            return r1
        if VoteResult.VOTE_LOST in (r1, r2):
            return VoteResult.VOTE_LOST
        return VoteResult.VOTE_PENDING
