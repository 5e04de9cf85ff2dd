"""How a node reacts to each message, per role.

Mirrors etcd-io/raft raft.go: Step (term rules and votes, shared by all
roles), stepLeader, stepCandidate, stepFollower, handleAppendEntries,
handleHeartbeat, handleSnapshot and the ReadIndex helpers. The paper's rules:
- any message with a higher term makes us a follower (§5.1), except that
  CheckQuorum leases and PreVote keep a partitioned node from disrupting a
  healthy leader (thesis §9.6);
- a vote goes to at most one candidate per term, and only to one whose log
  is at least as up-to-date as ours (§5.2, §5.4.1);
- a follower accepts entries only if its log matches at the previous index,
  and answers a mismatch with a hint so the leader skips whole terms (§5.3).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from miniraft.raft import raft_confchange, raft_election
from miniraft.raft.quorum import VoteResult
from miniraft.raft.raft_state import (
    CAMPAIGN_ELECTION,
    CAMPAIGN_PRE_ELECTION,
    CAMPAIGN_TRANSFER,
    NONE,
    ErrProposalDropped,
    StateType,
    vote_resp_msg_type,
)
from miniraft.raft.raftpb import Entry, EntryType, Message, MessageType, Snapshot
from miniraft.raft.raftpb_codec import conf_change_from_entry
from miniraft.raft.read_only import ReadOnlyOption, ReadState
from miniraft.raft.tracker import ProgressStateType

if TYPE_CHECKING:
    from miniraft.raft.raft import Raft

MT = MessageType


def step(r: Raft, m: Message) -> None:
    if m.term == 0:
        pass  # a local message
    elif m.term > r.term:
        if m.type in (MT.MSG_VOTE, MT.MSG_PRE_VOTE):
            force = m.context == CAMPAIGN_TRANSFER
            in_lease = r.check_quorum and r.lead != NONE and r.election_elapsed < r.election_timeout
            if not force and in_lease:
                # We heard from a leader within the election timeout: a
                # disruptive candidate must not depose it (thesis §4.2.3).
                r.log(
                    f"{r.id:x} [logterm: {r.raft_log.last_term()}, index: {r.raft_log.last_index()}, "
                    f"vote: {r.vote:x}] ignored {m.type} from {m.frm:x} [logterm: {m.log_term}, "
                    f"index: {m.index}] at term {r.term}: lease is not expired "
                    f"(remaining ticks: {r.election_timeout - r.election_elapsed})"
                )
                return
        if m.type == MT.MSG_PRE_VOTE or (m.type == MT.MSG_PRE_VOTE_RESP and not m.reject):
            pass  # pre-votes carry a future term; they never change ours
        else:
            r.log(
                f"{r.id:x} [term: {r.term}] received a {m.type} message with higher term "
                f"from {m.frm:x} [term: {m.term}]"
            )
            lead = m.frm if m.type in (MT.MSG_APP, MT.MSG_HEARTBEAT, MT.MSG_SNAP) else NONE
            r.become_follower(m.term, lead)
    elif m.term < r.term:
        if (r.check_quorum or r.pre_vote) and m.type in (MT.MSG_HEARTBEAT, MT.MSG_APP):
            # A stale leader: tell it our term so it steps down. Without
            # this, a node whose term grew while partitioned could never
            # rejoin, as its (pre)votes are ignored by the lease above.
            r.send(Message(type=MT.MSG_APP_RESP, to=m.frm))
        elif m.type == MT.MSG_PRE_VOTE:
            r.log(
                f"{r.id:x} [logterm: {r.raft_log.last_term()}, index: {r.raft_log.last_index()}, "
                f"vote: {r.vote:x}] rejected {m.type} from {m.frm:x} [logterm: {m.log_term}, "
                f"index: {m.index}] at term {r.term}"
            )
            r.send(Message(type=MT.MSG_PRE_VOTE_RESP, to=m.frm, term=r.term, reject=True))
        return

    if m.type == MT.MSG_HUP:
        raft_election.hup(r, CAMPAIGN_PRE_ELECTION if r.pre_vote else CAMPAIGN_ELECTION)
    elif m.type in (MT.MSG_VOTE, MT.MSG_PRE_VOTE):
        handle_vote_request(r, m)
    else:
        r.step(r, m)


def handle_vote_request(r: Raft, m: Message) -> None:
    can_vote = (
        r.vote == m.frm  # a repeat of the vote we already cast
        or (r.vote == NONE and r.lead == NONE)  # no vote and no known leader this term
        or (m.type == MT.MSG_PRE_VOTE and m.term > r.term)  # a pre-vote for a future term
    )
    desc = (
        f"{r.id:x} [logterm: {r.raft_log.last_term()}, index: {r.raft_log.last_index()}, "
        f"vote: {r.vote:x}] %s {m.type} %s {m.frm:x} [logterm: {m.log_term}, index: {m.index}] "
        f"at term {r.term}"
    )
    if can_vote and r.raft_log.is_up_to_date(m.index, m.log_term):
        r.log(desc % ("cast", "for"))
        # Reply with the message's term: a pre-candidate ignores older terms.
        r.send(Message(type=vote_resp_msg_type(m.type), to=m.frm, term=m.term))
        if m.type == MT.MSG_VOTE:
            r.election_elapsed = 0
            r.vote = m.frm
    else:
        r.log(desc % ("rejected", "from"))
        r.send(Message(type=vote_resp_msg_type(m.type), to=m.frm, term=r.term, reject=True))


# -- leader --------------------------------------------------------------------


def step_leader(r: Raft, m: Message) -> None:
    t = m.type
    if t == MT.MSG_BEAT:
        r.bcast_heartbeat()
        return
    if t == MT.MSG_CHECK_QUORUM:
        if not r.trk.quorum_active():
            r.log(f"{r.id:x} stepped down to follower since quorum is not active")
            r.become_follower(r.term, NONE)
        for i, pr in r.trk.progress.items():
            if i != r.id:
                pr.recent_active = False
        return
    if t == MT.MSG_PROP:
        if not m.entries:
            raise AssertionError(f"{r.id:x} stepped empty MsgProp")
        if r.id not in r.trk.progress or r.lead_transferee != NONE:
            raise ErrProposalDropped()
        if not r.append_entry(check_conf_changes(r, m.entries)):
            raise ErrProposalDropped()
        r.bcast_append()
        return
    if t == MT.MSG_READ_INDEX:
        if r.trk.is_singleton():
            respond_to_read_index_req(r, m, r.raft_log.committed)
        elif not r.committed_entry_in_current_term():
            # Our commit index may be stale until an entry of our term commits (§8).
            r.pending_read_index_messages.append(m)
        else:
            send_msg_read_index_response(r, m)
        return

    pr = r.trk.progress.get(m.frm)
    if pr is None:
        return
    if t == MT.MSG_APP_RESP:
        pr.recent_active = True
        if m.reject:
            handle_app_resp_reject(r, m, pr)
        else:
            handle_app_resp_accept(r, m, pr)
    elif t == MT.MSG_HEARTBEAT_RESP:
        pr.recent_active = True
        pr.msg_app_flow_paused = False
        if pr.match < r.raft_log.last_index() or pr.state == ProgressStateType.PROBE:
            r.send_append(m.frm)
        if r.read_only.option != ReadOnlyOption.READ_ONLY_SAFE or not m.context:
            return
        r.read_only.recv_ack(m.frm, m.context)
        for rs in r.read_only.maybe_advance(r.trk.voters):
            respond_to_read_index_req(r, rs.req, rs.index)
    elif t == MT.MSG_SNAP_STATUS:
        if pr.state != ProgressStateType.SNAPSHOT:
            return
        if m.reject:
            pr.pending_snapshot = 0  # before become_probe: probe from match
        pr.become_probe()
        pr.msg_app_flow_paused = True  # wait for an ack or a heartbeat
    elif t == MT.MSG_UNREACHABLE:
        if pr.state == ProgressStateType.REPLICATE:
            pr.become_probe()  # an append was probably lost
    elif t == MT.MSG_TRANSFER_LEADER:
        handle_transfer_leader(r, m, pr)


def check_conf_changes(r: Raft, entries: tuple[Entry, ...]) -> list[Entry]:
    """Refuse (turn into no-ops) conf changes that are unsafe right now."""
    out = list(entries)
    for i, e in enumerate(entries):
        cc = conf_change_from_entry(e)
        if cc is None:
            continue
        already_pending = r.pending_conf_index > r.raft_log.applied
        already_joint = bool(r.trk.config.voters[1])
        wants_leave_joint = not cc.as_v2().changes
        failed = ""
        if already_pending:
            failed = (
                f"possible unapplied conf change at index {r.pending_conf_index} "
                f"(applied to {r.raft_log.applied})"
            )
        elif already_joint and not wants_leave_joint:
            failed = "must transition out of joint config first"
        elif not already_joint and wants_leave_joint:
            failed = "not in joint state; refusing empty conf change"
        if failed:
            r.log(f"{r.id:x} ignoring conf change at config {r.trk.config}: {failed}")
            out[i] = Entry(type=EntryType.NORMAL)
        else:
            r.pending_conf_index = r.raft_log.last_index() + i + 1
    return out


def handle_app_resp_reject(r: Raft, m: Message, pr) -> None:
    # reject_hint/log_term: the follower's guess of the last (index, term)
    # where our logs may match; skip every index whose term is larger.
    next_probe_idx = m.reject_hint
    if m.log_term > 0:
        next_probe_idx, _ = r.raft_log.find_conflict_by_term(m.reject_hint, m.log_term)
    if pr.maybe_decr_to(m.index, next_probe_idx):
        if pr.state == ProgressStateType.REPLICATE:
            pr.become_probe()
        r.send_append(m.frm)


def handle_app_resp_accept(r: Raft, m: Message, pr) -> None:
    if not (
        pr.maybe_update(m.index) or (pr.match == m.index and pr.state == ProgressStateType.PROBE)
    ):
        return
    if pr.state == ProgressStateType.PROBE:
        pr.become_replicate()
    elif pr.state == ProgressStateType.SNAPSHOT and pr.match + 1 >= r.raft_log.first_index():
        pr.become_probe()  # caught up from the snapshot: replicate from the log
        pr.become_replicate()
    elif pr.state == ProgressStateType.REPLICATE:
        pr.inflights.free_le(m.index)
    if r.maybe_commit():
        release_pending_read_index_messages(r)
        r.bcast_append()
    elif r.id != m.frm and pr.can_bump_commit(r.raft_log.committed):
        r.send_append(m.frm)
    if r.id != m.frm:
        while r.maybe_send_append(m.frm, False):
            pass
    if m.frm == r.lead_transferee and pr.match == r.raft_log.last_index():
        r.send_timeout_now(m.frm)


def handle_transfer_leader(r: Raft, m: Message, pr) -> None:
    if pr.is_learner:
        return
    transferee = m.frm
    if r.lead_transferee != NONE:
        if r.lead_transferee == transferee:
            return
        r.abort_leader_transfer()
    if transferee == r.id:
        return
    r.log(f"{r.id:x} [term {r.term}] starts to transfer leadership to {transferee:x}")
    r.election_elapsed = 0  # the transfer must finish within one election timeout
    r.lead_transferee = transferee
    if pr.match == r.raft_log.last_index():
        r.send_timeout_now(transferee)
    else:
        r.send_append(transferee)


# -- candidate and follower --------------------------------------------------------


def step_candidate(r: Raft, m: Message) -> None:
    """Shared by CANDIDATE and PRE_CANDIDATE; each counts only its own responses."""
    my_resp = MT.MSG_PRE_VOTE_RESP if r.state == StateType.PRE_CANDIDATE else MT.MSG_VOTE_RESP
    t = m.type
    if t == MT.MSG_PROP:
        r.log(f"{r.id:x} no leader at term {r.term}; dropping proposal")
        raise ErrProposalDropped()
    if t in (MT.MSG_APP, MT.MSG_HEARTBEAT, MT.MSG_SNAP):
        r.become_follower(m.term, m.frm)  # m.term == r.term: someone else won
        handle_from_leader(r, m)
    elif t == my_resp:
        gr, rj, res = raft_election.poll(r, m.frm, m.type, not m.reject)
        r.log(f"{r.id:x} has received {gr} {m.type} votes and {rj} vote rejections")
        if res == VoteResult.VOTE_WON:
            if r.state == StateType.PRE_CANDIDATE:
                raft_election.campaign(r, CAMPAIGN_ELECTION)
            else:
                r.become_leader()
                r.bcast_append()
        elif res == VoteResult.VOTE_LOST:
            r.become_follower(r.term, NONE)


def step_follower(r: Raft, m: Message) -> None:
    t = m.type
    if t == MT.MSG_PROP:
        if r.lead == NONE:
            r.log(f"{r.id:x} no leader at term {r.term}; dropping proposal")
            raise ErrProposalDropped()
        if r.disable_proposal_forwarding:
            raise ErrProposalDropped()
        r.send(replace(m, to=r.lead))
    elif t in (MT.MSG_APP, MT.MSG_HEARTBEAT, MT.MSG_SNAP):
        r.election_elapsed = 0
        r.lead = m.frm
        handle_from_leader(r, m)
    elif t in (MT.MSG_TRANSFER_LEADER, MT.MSG_READ_INDEX):
        if r.lead == NONE:
            return
        r.send(replace(m, to=r.lead))
    elif t == MT.MSG_TIMEOUT_NOW:
        # A transfer skips pre-vote: we know the leader is alive and willing.
        r.log(
            f"{r.id:x} [term {r.term}] received MsgTimeoutNow from {m.frm:x} "
            "and starts an election to get leadership."
        )
        raft_election.hup(r, CAMPAIGN_TRANSFER)
    elif t == MT.MSG_READ_INDEX_RESP:
        if len(m.entries) != 1:
            return
        r.read_states.append(ReadState(m.index, m.entries[0].data))


def handle_from_leader(r: Raft, m: Message) -> None:
    if m.type == MT.MSG_APP:
        handle_append_entries(r, m)
    elif m.type == MT.MSG_HEARTBEAT:
        r.raft_log.commit_to(m.commit)
        r.send(Message(type=MT.MSG_HEARTBEAT_RESP, to=m.frm, context=m.context))
    else:
        handle_snapshot(r, m)


def handle_append_entries(r: Raft, m: Message) -> None:
    if m.index < r.raft_log.committed:
        # Everything up to committed already matches; say so.
        r.send(Message(type=MT.MSG_APP_RESP, to=m.frm, index=r.raft_log.committed))
        return
    lastnewi = r.raft_log.maybe_append(m.index, m.log_term, m.commit, m.entries)
    if lastnewi is not None:
        r.send(Message(type=MT.MSG_APP_RESP, to=m.frm, index=lastnewi))
        return
    hint_index = min(m.index, r.raft_log.last_index())
    hint_index, hint_term = r.raft_log.find_conflict_by_term(hint_index, m.log_term)
    r.send(
        Message(
            type=MT.MSG_APP_RESP,
            to=m.frm,
            index=m.index,
            reject=True,
            reject_hint=hint_index,
            log_term=hint_term,
        )
    )


def handle_snapshot(r: Raft, m: Message) -> None:
    s = m.snapshot or Snapshot()
    if raft_confchange.restore(r, s):
        r.log(
            f"{r.id:x} [commit: {r.raft_log.committed}] restored snapshot "
            f"[index: {s.metadata.index}, term: {s.metadata.term}]"
        )
        r.send(Message(type=MT.MSG_APP_RESP, to=m.frm, index=r.raft_log.last_index()))
    else:
        r.send(Message(type=MT.MSG_APP_RESP, to=m.frm, index=r.raft_log.committed))


# -- ReadIndex ---------------------------------------------------------------------


def respond_to_read_index_req(r: Raft, req: Message, read_index: int) -> None:
    if req.frm in (NONE, r.id):
        r.read_states.append(ReadState(read_index, req.entries[0].data))
        return
    r.send(Message(type=MT.MSG_READ_INDEX_RESP, to=req.frm, index=read_index, entries=req.entries))


def send_msg_read_index_response(r: Raft, m: Message) -> None:
    if r.read_only.option == ReadOnlyOption.READ_ONLY_SAFE:
        r.read_only.add_request(r.raft_log.committed, m)
        r.read_only.recv_ack(r.id, r.read_only.heartbeat_ctx())  # we ack ourselves
        r.bcast_heartbeat()
    else:
        respond_to_read_index_req(r, m, r.raft_log.committed)


def release_pending_read_index_messages(r: Raft) -> None:
    if not r.pending_read_index_messages or not r.committed_entry_in_current_term():
        return
    msgs, r.pending_read_index_messages = r.pending_read_index_messages, []
    for m in msgs:
        send_msg_read_index_response(r, m)
