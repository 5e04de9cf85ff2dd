"""Rebuilding the membership from a ConfState (a snapshot or storage on boot).

Mirrors etcd-io/raft confchange/restore.go (Restore, toConfChangeSingle): the
ConfState is replayed as a sequence of simple changes that builds the outgoing
config, then one joint change that turns it into the incoming config, so the
result passes the same invariant checks as a live change.
"""

from __future__ import annotations

from miniraft.raft.confchange.confchange import Changer
from miniraft.raft.raftpb import ConfChangeSingle, ConfChangeType, ConfState
from miniraft.raft.tracker import ProgressMap, TrackerConfig


def _to_conf_change_single(
    cs: ConfState,
) -> tuple[list[ConfChangeSingle], list[ConfChangeSingle]]:
    add, rm, learner = (
        ConfChangeType.ADD_NODE,
        ConfChangeType.REMOVE_NODE,
        ConfChangeType.ADD_LEARNER_NODE,
    )
    out = [ConfChangeSingle(add, i) for i in cs.voters_outgoing]
    inc = [ConfChangeSingle(rm, i) for i in cs.voters_outgoing]
    inc += [ConfChangeSingle(add, i) for i in cs.voters]
    inc += [ConfChangeSingle(learner, i) for i in cs.learners]
    inc += [ConfChangeSingle(learner, i) for i in cs.learners_next]
    return out, inc


def restore(chg: Changer, cs: ConfState) -> tuple[TrackerConfig, ProgressMap]:
    outgoing, incoming = _to_conf_change_single(cs)

    def apply(cfg_prs: tuple[TrackerConfig, ProgressMap]) -> None:
        chg.tracker.config, chg.tracker.progress = cfg_prs

    if not outgoing:
        for cc in incoming:
            apply(chg.simple((cc,)))
    else:
        for cc in outgoing:
            apply(chg.simple((cc,)))
        apply(chg.enter_joint(cs.auto_leave, tuple(incoming)))
    return chg.tracker.config, chg.tracker.progress
