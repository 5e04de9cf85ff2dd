"""RawNode's Ready/Advance contract (etcd-io/raft rawnode_test.go), the wire
numbers of MessageType, the conf change codec and describe()."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniraft.raft import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    Config,
    ConfState,
    Entry,
    ErrProposalDropped,
    ErrStepLocalMsg,
    HardState,
    MemoryStorage,
    Message,
    MessageType,
    RawNode,
    Snapshot,
    SnapshotMetadata,
    StateType,
    marshal_conf_change,
    marshal_conf_change_v2,
    unmarshal_conf_change,
    unmarshal_conf_change_v2,
)


def single_node() -> tuple[RawNode, MemoryStorage]:
    s = MemoryStorage()
    s.apply_snapshot(Snapshot(metadata=SnapshotMetadata(ConfState(voters=(1,)), index=1, term=1)))
    return RawNode(Config(1, 10, 1, s, rand=random.Random(1))), s


def drive(rn: RawNode, s: MemoryStorage) -> list:
    applied = []
    while rn.has_ready():
        rd = rn.ready()
        s.append(rd.entries)
        if rd.hard_state != HardState():
            s.set_hard_state(rd.hard_state)
        applied.extend(rd.committed_entries)
        rn.advance(rd)
    return applied


def test_single_node_campaign_and_commit() -> None:
    """The own vote and own ack count only after advance() (persisted)."""
    rn, s = single_node()
    rn.campaign()
    assert rn.raft.state == StateType.CANDIDATE  # its vote is not persisted yet
    drive(rn, s)
    assert rn.raft.state == StateType.LEADER
    rn.propose(b"hello")
    rd = rn.ready()
    assert [e.data for e in rd.entries] == [b"hello"] and rd.must_sync
    assert rd.committed_entries == ()  # not durable yet
    s.append(rd.entries)
    rn.advance(rd)
    assert [e.data for e in drive(rn, s)] == [b"hello"]
    assert rn.status().applied == 3


def test_errors() -> None:
    rn, _ = single_node()
    with pytest.raises(ErrProposalDropped, match="raft proposal dropped"):
        rn.propose(b"x")
    with pytest.raises(ErrStepLocalMsg):
        rn.step(Message(type=MessageType.MSG_HUP))


def test_ready_then_ready_without_advance_is_refused() -> None:
    rn, s = single_node()
    rn.campaign()
    rn.ready()
    with pytest.raises(AssertionError, match="without call to Advance"):
        rn.raft.msgs_after_append.append(Message(type=MessageType.MSG_APP_RESP, to=1, frm=1))
        rn.ready()


def test_read_index_on_single_node() -> None:
    rn, s = single_node()
    rn.campaign()
    drive(rn, s)
    rn.read_index(b"ctx")
    rd = rn.ready()
    assert [(r.index, r.request_ctx) for r in rd.read_states] == [(2, b"ctx")]


def test_conf_change_round_trip_through_the_log() -> None:
    rn, s = single_node()
    rn.campaign()
    drive(rn, s)
    rn.propose_conf_change(ConfChange(type=ConfChangeType.ADD_NODE, node_id=2))
    ents = [e for e in drive(rn, s) if e.type != 0]
    assert len(ents) == 1
    cs = rn.apply_conf_change(unmarshal_conf_change(ents[0].data))
    assert cs.voters == (1, 2)


def test_message_type_numbers_match_raftpb() -> None:
    assert MessageType.MSG_APP == 3 and MessageType.MSG_READ_INDEX_RESP == 16
    assert (
        MessageType.MSG_PRE_VOTE_RESP == 18
        and str(MessageType.MSG_PRE_VOTE_RESP) == "MsgPreVoteResp"
    )


def test_describe_message() -> None:
    m = Message(type=MessageType.MSG_VOTE, to=2, frm=1, term=1, log_term=1, index=2)
    assert m.describe() == "1->2 MsgVote Term:1 Log:1/2"
    app = Message(
        type=MessageType.MSG_APP, to=3, frm=1, term=1, log_term=1, index=2, commit=2,
        entries=(Entry(term=1, index=3),),
    )  # fmt: skip
    assert app.describe() == '1->3 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal ""]'
    rej = Message(
        type=MessageType.MSG_APP_RESP,
        to=1,
        frm=3,
        term=1,
        reject=True,
        reject_hint=6,
        log_term=1,
        index=7,
    )
    assert rej.describe() == "3->1 MsgAppResp Term:1 Log:1/7 Rejected (Hint: 6)"


def test_conf_change_wire_bytes() -> None:
    """Byte-exact with gogoproto's encoding of raftpb.ConfChange{Type:0, NodeID:2}."""
    assert marshal_conf_change(ConfChange(ConfChangeType.ADD_NODE, 2)) == bytes(
        [8, 0, 16, 0, 24, 2]
    )


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(list(ConfChangeTransition)),
    st.lists(st.tuples(st.sampled_from(list(ConfChangeType)), st.integers(0, 2**40)), max_size=4),
    st.binary(max_size=8),
)
def test_conf_change_v2_codec_round_trip(transition, changes, ctx) -> None:
    cc = ConfChangeV2(transition, tuple(ConfChangeSingle(t, n) for t, n in changes), ctx)
    assert unmarshal_conf_change_v2(marshal_conf_change_v2(cc)) == cc


def three_node_leader(read_only=None):
    from miniraft.raft import ReadOnlyOption

    s = MemoryStorage()
    s.apply_snapshot(
        Snapshot(metadata=SnapshotMetadata(ConfState(voters=(1, 2, 3)), index=1, term=1))
    )
    opt = read_only if read_only is not None else ReadOnlyOption.READ_ONLY_SAFE
    rn = RawNode(
        Config(1, 10, 1, s, rand=random.Random(1), check_quorum=True, read_only_option=opt)
    )
    rn.campaign()
    drive(rn, s)
    for p in (2, 3):
        rn.step(Message(type=MessageType.MSG_VOTE_RESP, frm=p, to=1, term=1))
    drive(rn, s)
    idx = rn.raft.raft_log.last_index()
    for p in (2, 3):
        rn.step(Message(type=MessageType.MSG_APP_RESP, frm=p, to=1, term=1, index=idx))
    drive(rn, s)
    assert rn.raft.raft_log.committed == idx
    return rn, s


def test_read_index_safe_needs_a_heartbeat_quorum() -> None:
    """Thesis §6.4: the read is answered only after a quorum acks the heartbeat."""
    rn, s = three_node_leader()
    rn.read_index(b"r")
    rd = rn.ready()
    beats = [m for m in rd.messages if m.type == MessageType.MSG_HEARTBEAT]
    assert rd.read_states == () and len(beats) == 2 and beats[0].context
    rn.advance(rd)
    rn.step(
        Message(type=MessageType.MSG_HEARTBEAT_RESP, frm=2, to=1, term=1, context=beats[0].context)
    )
    assert [(r.index, r.request_ctx) for r in rn.ready().read_states] == [(2, b"r")]


def test_read_index_lease_based_answers_at_once() -> None:
    """Lease reads trust CheckQuorum instead of a round trip (bounded clock drift!)."""
    from miniraft.raft import ReadOnlyOption

    rn, s = three_node_leader(ReadOnlyOption.READ_ONLY_LEASE_BASED)
    rn.read_index(b"r")
    assert [(r.index, r.request_ctx) for r in rn.ready().read_states] == [(2, b"r")]


def test_report_unreachable_moves_follower_to_probe() -> None:
    from miniraft.raft.tracker import ProgressStateType

    rn, s = three_node_leader()
    assert rn.raft.trk.progress[2].state == ProgressStateType.REPLICATE
    rn.report_unreachable(2)
    assert rn.raft.trk.progress[2].state == ProgressStateType.PROBE
