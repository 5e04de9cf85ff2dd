"""The leader's view of the cluster: the membership Config and a Progress per peer.

Mirrors etcd-io/raft tracker/tracker.go (Config, ProgressTracker, ProgressMap).
Config is the active membership (voters as a JointConfig, learners); the
tracker answers the two quorum questions raft asks: "what is committed?"
(matches of voters) and "did this election win?" (votes of voters).
Omitted: the MaxInflightBytes default logic beyond passing it through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from miniraft.raft.quorum import JointConfig, MajorityConfig, VoteResult
from miniraft.raft.raftpb import ConfState
from miniraft.raft.tracker.progress import Progress


@dataclass
class TrackerConfig:
    """The membership. learners and voters never overlap; learners_next are
    voters of the outgoing config that become learners when the joint config ends."""

    voters: JointConfig = field(default_factory=JointConfig)
    auto_leave: bool = False
    learners: set[int] = field(default_factory=set)
    learners_next: set[int] = field(default_factory=set)

    def clone(self) -> TrackerConfig:
        return TrackerConfig(
            JointConfig(self.voters[0], self.voters[1]),
            self.auto_leave,
            set(self.learners),
            set(self.learners_next),
        )

    def __str__(self) -> str:
        out = f"voters={self.voters}"
        if self.learners:
            out += f" learners={MajorityConfig(self.learners)}"
        if self.learners_next:
            out += f" learners_next={MajorityConfig(self.learners_next)}"
        if self.auto_leave:
            out += " autoleave"
        return out


ProgressMap = dict[int, Progress]


class ProgressTracker:
    def __init__(self, max_inflight: int, max_inflight_bytes: int = 0) -> None:
        self.config = TrackerConfig()
        self.progress: ProgressMap = {}
        self.votes: dict[int, bool] = {}
        self.max_inflight = max_inflight
        self.max_inflight_bytes = max_inflight_bytes

    @property
    def voters(self) -> JointConfig:
        return self.config.voters

    def conf_state(self) -> ConfState:
        c = self.config
        return ConfState(
            voters=tuple(c.voters[0].slice()),
            voters_outgoing=tuple(c.voters[1].slice()),
            learners=tuple(sorted(c.learners)),
            learners_next=tuple(sorted(c.learners_next)),
            auto_leave=c.auto_leave,
        )

    def is_singleton(self) -> bool:
        return len(self.voters[0]) == 1 and len(self.voters[1]) == 0

    def committed(self) -> int:
        """The largest index replicated on a quorum of voters."""

        def acked(i: int) -> int | None:
            pr = self.progress.get(i)
            return pr.match if pr is not None else None

        return self.voters.committed_index(acked)

    def visit(self, f: Callable[[int, Progress], None]) -> None:
        # Sorted so that message order is deterministic (a seed replays exactly).
        for i in sorted(self.progress):
            f(i, self.progress[i])

    def quorum_active(self) -> bool:
        """CheckQuorum (§6.2 of the thesis): did a quorum talk to us recently?"""
        votes = {i: pr.recent_active for i, pr in self.progress.items() if not pr.is_learner}
        return self.voters.vote_result(votes) == VoteResult.VOTE_WON

    def voter_nodes(self) -> list[int]:
        return sorted(self.voters.ids())

    def learner_nodes(self) -> list[int]:
        return sorted(self.config.learners)

    def reset_votes(self) -> None:
        self.votes = {}

    def record_vote(self, node_id: int, v: bool) -> None:
        self.votes.setdefault(node_id, v)  # the first answer counts

    def tally_votes(self) -> tuple[int, int, VoteResult]:
        granted = rejected = 0
        for i, pr in self.progress.items():
            if pr.is_learner or i not in self.votes:
                continue
            if self.votes[i]:
                granted += 1
            else:
                rejected += 1
        return granted, rejected, self.voters.vote_result(self.votes)
