"""Membership changes (etcd-io/raft confchange/ tests): one voter at a time,
joint consensus, learners, and the invariants a change may not break."""

from __future__ import annotations

import pytest

from miniraft.raft import ConfChangeSingle, ConfChangeType, ConfState
from miniraft.raft.confchange import Changer, ConfChangeError, restore
from miniraft.raft.raftpb import conf_changes_from_string
from miniraft.raft.tracker import ProgressTracker

V = ConfChangeType.ADD_NODE


def tracker_for(cs: ConfState) -> ProgressTracker:
    trk = ProgressTracker(256)
    restore(Changer(trk, 10), cs)
    return trk


def apply(trk: ProgressTracker, fn) -> ConfState:
    trk.config, trk.progress = fn(Changer(trk, 10))
    return trk.conf_state()


def test_simple_one_voter_at_a_time() -> None:
    trk = tracker_for(ConfState(voters=(1,)))
    assert apply(trk, lambda c: c.simple(conf_changes_from_string("v2"))).voters == (1, 2)
    with pytest.raises(ConfChangeError, match="more than one voter changed"):
        Changer(trk, 10).simple(conf_changes_from_string("v3 v4"))
    with pytest.raises(ConfChangeError, match="removed all voters"):
        Changer(trk, 10).simple(conf_changes_from_string("r1 r2"))


def test_joint_then_leave() -> None:
    trk = tracker_for(ConfState(voters=(1, 2, 3)))
    cs = apply(trk, lambda c: c.enter_joint(True, conf_changes_from_string("r1 v4 l2")))
    assert cs == ConfState(
        voters=(3, 4), learners=(), voters_outgoing=(1, 2, 3), learners_next=(2,), auto_leave=True
    )
    with pytest.raises(ConfChangeError, match="already joint"):
        Changer(trk, 10).enter_joint(False, ())
    cs = apply(trk, lambda c: c.leave_joint())
    assert cs == ConfState(voters=(3, 4), learners=(2,))
    assert set(trk.progress) == {2, 3, 4}


def test_learner_promotion_and_demotion() -> None:
    trk = tracker_for(ConfState(voters=(1, 2), learners=(3,)))
    assert trk.progress[3].is_learner
    cs = apply(trk, lambda c: c.simple((ConfChangeSingle(V, 3),)))
    assert cs.voters == (1, 2, 3) and cs.learners == () and not trk.progress[3].is_learner
    cs = apply(trk, lambda c: c.simple(conf_changes_from_string("l3")))
    assert cs.voters == (1, 2) and cs.learners == (3,)


@pytest.mark.parametrize(
    "cs",
    [
        ConfState(voters=(1, 2, 3)),
        ConfState(voters=(1, 2), learners=(3, 4)),
        ConfState(voters=(1, 2), voters_outgoing=(1, 2, 3), learners_next=(3,), auto_leave=True),
    ],
)
def test_restore_round_trips(cs: ConfState) -> None:
    assert tracker_for(cs).conf_state().equivalent(cs)
