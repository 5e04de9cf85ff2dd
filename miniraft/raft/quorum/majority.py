"""A majority quorum: the committed index and the outcome of a vote.

Mirrors etcd-io/raft quorum/majority.go (MajorityConfig, CommittedIndex,
VoteResult) and quorum/quorum.go (VoteResult, Index). The committed index of a
majority config is the largest index acked by a majority (§5.3): sort the acked
indexes and take the one at position n - (n//2 + 1).
Convention: an empty config commits everything and wins every vote, so that a
joint config with an empty outgoing half behaves like its incoming half.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum

INFINITE_INDEX = (1 << 64) - 1


class VoteResult(IntEnum):
    VOTE_PENDING = 1
    VOTE_LOST = 2
    VOTE_WON = 3

    def __str__(self) -> str:
        return "".join(p.capitalize() for p in self.name.split("_"))


class MajorityConfig(frozenset):
    """A set of voter ids; its quorum is any strict majority of them."""

    def __new__(cls, ids: Iterable[int] = ()) -> MajorityConfig:
        return super().__new__(cls, ids)

    def __str__(self) -> str:
        return "(" + " ".join(str(i) for i in sorted(self)) + ")"

    def slice(self) -> list[int]:
        return sorted(self)

    def committed_index(self, acked: Callable[[int], int | None]) -> int:
        """The highest index known to be on a majority; acked(id) -> index or None."""
        n = len(self)
        if n == 0:
            return INFINITE_INDEX
        srt = sorted((acked(i) or 0) for i in self)
        return srt[n - (n // 2 + 1)]

    def vote_result(self, votes: dict[int, bool]) -> VoteResult:
        """Won with a majority of yes, lost once a majority is impossible."""
        if not self:
            return VoteResult.VOTE_WON
        yes = sum(1 for i in self if votes.get(i) is True)
        missing = sum(1 for i in self if i not in votes)
        q = len(self) // 2 + 1
        if yes >= q:
            return VoteResult.VOTE_WON
        if yes + missing >= q:
            return VoteResult.VOTE_PENDING
        return VoteResult.VOTE_LOST
