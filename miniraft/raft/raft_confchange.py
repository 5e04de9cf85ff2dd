"""Applying membership changes and snapshots to a running Raft node.

Mirrors etcd-io/raft raft.go (applyConfChange, switchToConfig, restore) and
the confchange.Restore call in newRaft. A configuration takes effect when the
application applies the entry carrying it (RawNode.apply_conf_change), which
is why a leader refuses a second change while one is unapplied; see
confchange/confchange.py for why one voter at a time, or joint consensus,
keeps two majorities from electing two leaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from miniraft.raft.confchange import Changer
from miniraft.raft.confchange import restore as confchange_restore
from miniraft.raft.raft_state import NONE, StateType
from miniraft.raft.raftpb import ConfChangeV2, ConfState, Snapshot
from miniraft.raft.tracker import ProgressMap, ProgressTracker, TrackerConfig

if TYPE_CHECKING:
    from miniraft.raft.raft import Raft


def restore_conf_state(r: Raft, cs: ConfState) -> ConfState:
    """Build the tracker from a ConfState (on boot, and from a snapshot)."""
    r.trk = ProgressTracker(r.trk.max_inflight, r.trk.max_inflight_bytes)
    cfg, prs = confchange_restore(Changer(r.trk, r.raft_log.last_index()), cs)
    return switch_to_config(r, cfg, prs)


def apply_conf_change(r: Raft, cc: ConfChangeV2) -> ConfState:
    changer = Changer(r.trk, r.raft_log.last_index())
    if cc.leave_joint():
        cfg, prs = changer.leave_joint()
    else:
        auto_leave, joint = cc.enter_joint()
        if joint:
            cfg, prs = changer.enter_joint(auto_leave, cc.changes)
        else:
            cfg, prs = changer.simple(cc.changes)
    return switch_to_config(r, cfg, prs)


def switch_to_config(r: Raft, cfg: TrackerConfig, prs: ProgressMap) -> ConfState:
    r.trk.config, r.trk.progress = cfg, prs
    r.log(f"{r.id:x} switched to configuration {cfg}")
    cs = r.trk.conf_state()
    pr = prs.get(r.id)
    r.is_learner = pr is not None and pr.is_learner
    if (pr is None or r.is_learner) and r.state == StateType.LEADER:
        # A leader that is no longer a voter stops counting itself; with
        # step_down_on_removal it hands the cluster back to an election.
        if r.step_down_on_removal:
            r.become_follower(r.term, NONE)
        return cs
    if r.state != StateType.LEADER or not cs.voters:
        return cs
    # The quorum changed: maybe something commits now, and new peers need probes.
    if r.maybe_commit():
        r.bcast_append()
    else:
        for i in sorted(r.trk.progress):
            if i != r.id:
                r.maybe_send_append(i, False)
    if r.lead_transferee != NONE and r.lead_transferee not in r.trk.voters.ids():
        r.abort_leader_transfer()
    return cs


def restore(r: Raft, s: Snapshot) -> bool:
    """Replace our log with a snapshot from the leader; False if it is ignored."""
    meta = s.metadata
    if meta.index <= r.raft_log.committed:
        return False
    if r.state != StateType.FOLLOWER:
        # Defensive, as in etcd: only a leader of our term sends snapshots,
        # so a non-follower receiving one means something is off.
        r.become_follower(r.term + 1, 0)
        return False
    cs = meta.conf_state
    if r.id not in (*cs.voters, *cs.learners, *cs.voters_outgoing):
        return False
    if r.raft_log.match_term(meta.index, meta.term):
        # We already hold the snapshot's last entry: just fast-forward commit.
        r.raft_log.commit_to(meta.index)
        return False
    r.raft_log.restore(s)
    got = restore_conf_state(r, cs)
    if not got.equivalent(cs):
        raise AssertionError(f"ConfStates not equivalent after sorting: {got} vs {cs}")
    return True
