"""Turning configuration changes into a new membership Config and ProgressMap.

Mirrors etcd-io/raft confchange/confchange.go (Changer: EnterJoint, LeaveJoint,
Simple). Safety: a "simple" change may alter at most one voter, because any
majority of a config and any majority of the config with one voter added or
removed intersect (§4.1 of the Raft thesis), so two leaders cannot be elected
in one term across the change. Several changes at once go through the joint
config C_old,new (§6 of the paper), where every quorum needs a majority of
both halves; leaving it is a second, empty change.
A change takes effect when it is *applied*, not when appended (etcd's rule);
the leader allows one unapplied change at a time (pending_conf_index).
"""

from __future__ import annotations

import copy

from miniraft.raft.quorum import JointConfig, MajorityConfig
from miniraft.raft.raftpb import ConfChangeSingle, ConfChangeType
from miniraft.raft.tracker import Inflights, Progress, ProgressMap, ProgressTracker, TrackerConfig


class ConfChangeError(Exception):
    """A change that would break an invariant; raft refuses it (etcd returns err)."""


class Changer:
    def __init__(self, tracker: ProgressTracker, last_index: int) -> None:
        self.tracker = tracker
        self.last_index = last_index

    def enter_joint(
        self, auto_leave: bool, ccs: tuple[ConfChangeSingle, ...]
    ) -> tuple[TrackerConfig, ProgressMap]:
        cfg, prs = self._check_and_copy()
        if cfg.voters[1]:
            raise ConfChangeError("config is already joint")
        if not cfg.voters[0]:
            # An empty incoming config would make the joint config "anything goes".
            raise ConfChangeError("can't make a zero-voter config joint")
        cfg.voters = JointConfig(cfg.voters[0], MajorityConfig(cfg.voters[0]))
        cfg = self._apply(cfg, prs, ccs)
        cfg.auto_leave = auto_leave
        return self._check_and_return(cfg, prs)

    def leave_joint(self) -> tuple[TrackerConfig, ProgressMap]:
        cfg, prs = self._check_and_copy()
        if not cfg.voters[1]:
            raise ConfChangeError("can't leave a non-joint config")
        for i in cfg.learners_next:
            cfg.learners.add(i)
            prs[i].is_learner = True
        cfg.learners_next = set()
        for i in cfg.voters[1]:
            if i not in cfg.voters[0] and i not in cfg.learners:
                del prs[i]
        cfg.voters = JointConfig(cfg.voters[0])
        cfg.auto_leave = False
        return self._check_and_return(cfg, prs)

    def simple(self, ccs: tuple[ConfChangeSingle, ...]) -> tuple[TrackerConfig, ProgressMap]:
        cfg, prs = self._check_and_copy()
        if cfg.voters[1]:
            raise ConfChangeError("can't apply simple config change in joint config")
        cfg = self._apply(cfg, prs, ccs)
        if len(set(self.tracker.voters[0]) ^ set(cfg.voters[0])) > 1:
            raise ConfChangeError("more than one voter changed without entering joint config")
        return self._check_and_return(cfg, prs)

    # -- helpers -------------------------------------------------------------

    def _apply(
        self, cfg: TrackerConfig, prs: ProgressMap, ccs: tuple[ConfChangeSingle, ...]
    ) -> TrackerConfig:
        incoming = set(cfg.voters[0])
        for cc in ccs:
            if cc.node_id == 0:
                continue  # etcd ignores changes naming node 0
            if cc.type == ConfChangeType.ADD_NODE:
                self._make_voter(cfg, prs, incoming, cc.node_id)
            elif cc.type == ConfChangeType.ADD_LEARNER_NODE:
                self._make_learner(cfg, prs, incoming, cc.node_id)
            elif cc.type == ConfChangeType.REMOVE_NODE:
                self._remove(cfg, prs, incoming, cc.node_id)
            elif cc.type != ConfChangeType.UPDATE_NODE:
                raise ConfChangeError(f"unexpected conf type {cc.type}")
        if not incoming:
            raise ConfChangeError("removed all voters")
        cfg.voters = JointConfig(MajorityConfig(incoming), cfg.voters[1])
        return cfg

    def _make_voter(self, cfg: TrackerConfig, prs: ProgressMap, incoming: set, i: int) -> None:
        pr = prs.get(i)
        if pr is None:
            self._init_progress(cfg, prs, incoming, i, is_learner=False)
            return
        pr.is_learner = False
        cfg.learners.discard(i)
        cfg.learners_next.discard(i)
        incoming.add(i)

    def _make_learner(self, cfg: TrackerConfig, prs: ProgressMap, incoming: set, i: int) -> None:
        pr = prs.get(i)
        if pr is None:
            self._init_progress(cfg, prs, incoming, i, is_learner=True)
            return
        if pr.is_learner:
            return
        self._remove(cfg, prs, incoming, i)
        prs[i] = pr  # keep its progress: it stays a member
        if i in cfg.voters[1]:
            # Still a voter of the outgoing config: demote when leaving joint.
            cfg.learners_next.add(i)
        else:
            pr.is_learner = True
            cfg.learners.add(i)

    def _remove(self, cfg: TrackerConfig, prs: ProgressMap, incoming: set, i: int) -> None:
        if i not in prs:
            return
        incoming.discard(i)
        cfg.learners.discard(i)
        cfg.learners_next.discard(i)
        if i not in cfg.voters[1]:
            del prs[i]  # still needed while it votes in the outgoing config

    def _init_progress(
        self, cfg: TrackerConfig, prs: ProgressMap, incoming: set, i: int, is_learner: bool
    ) -> None:
        if is_learner:
            cfg.learners.add(i)
        else:
            incoming.add(i)
        # Next = last index lets the leader probe the new node right away;
        # recent_active so CheckQuorum does not step down before it answers.
        pr = Progress(
            match=0,
            next=max(self.last_index, 1),
            inflights=Inflights(self.tracker.max_inflight, self.tracker.max_inflight_bytes),
            is_learner=is_learner,
        )
        pr.recent_active = True
        prs[i] = pr

    def _check_and_copy(self) -> tuple[TrackerConfig, ProgressMap]:
        cfg = self.tracker.config.clone()
        prs = {i: copy.copy(pr) for i, pr in self.tracker.progress.items()}
        check_invariants(cfg, prs)
        return cfg, prs

    def _check_and_return(
        self, cfg: TrackerConfig, prs: ProgressMap
    ) -> tuple[TrackerConfig, ProgressMap]:
        check_invariants(cfg, prs)
        return cfg, prs


def check_invariants(cfg: TrackerConfig, prs: ProgressMap) -> None:
    """The membership invariants confchange.go checkInvariants enforces."""
    for ids in (cfg.voters.ids(), cfg.learners, cfg.learners_next):
        for i in ids:
            if i not in prs:
                raise ConfChangeError(f"no progress for {i}")
    for i in cfg.learners_next:
        if i not in cfg.voters[1]:
            raise ConfChangeError(f"{i} is in LearnersNext, but not Voters[1]")
        if prs[i].is_learner:
            raise ConfChangeError(f"{i} is in LearnersNext, but is already marked as learner")
    for i in cfg.learners:
        if i in cfg.voters[0] or i in cfg.voters[1]:
            raise ConfChangeError(f"{i} is in Learners and Voters")
        if not prs[i].is_learner:
            raise ConfChangeError(f"{i} is in Learners, but is not marked as learner")
    if not cfg.voters[1]:
        if cfg.learners_next:
            raise ConfChangeError("cfg.LearnersNext must be nil when not joint")
        if cfg.auto_leave:
            raise ConfChangeError("AutoLeave must be false when not joint")
