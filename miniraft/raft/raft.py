"""The Raft state machine of one node: roles, terms, time, sending.

Mirrors etcd-io/raft raft.go (raft, newRaft, send, sendAppend, bcastAppend,
sendHeartbeat, maybeCommit, reset, appendEntry, tickElection, tickHeartbeat,
becomeFollower/Candidate/PreCandidate/Leader). raft.go is split here by
concept: Step and the per-role handlers in raft_step.py (etcd's stepLeader,
stepCandidate and stepFollower are free functions too), hup/campaign/poll in
raft_election.py, membership and snapshots in raft_confchange.py.
A role change swaps two functions, `self.step` and `self.tick`, rather than
the class (§5.1: follower, candidate, leader; plus etcd's pre-candidate).
Nothing here does I/O: outgoing messages pile up in `msgs` (and in
`msgs_after_append` for those that must wait until the log is persisted:
votes and append acks: Figure 2, "respond after persisting") until RawNode hands
them out in a Ready.
"""

from __future__ import annotations

import random

from miniraft.raft import raft_confchange, raft_step
from miniraft.raft.config import Config
from miniraft.raft.log import RaftLog
from miniraft.raft.raft_state import (
    NONE,
    StateType,
)
from miniraft.raft.raftpb import (
    ConfChangeV2,
    ConfState,
    Entry,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from miniraft.raft.raftpb_codec import conf_change_to_entry
from miniraft.raft.read_only import ReadOnly, ReadState
from miniraft.raft.storage import ErrSnapshotTemporarilyUnavailable, RaftError
from miniraft.raft.tracker import Inflights, Progress, ProgressStateType, ProgressTracker

MT = MessageType

_VOTE_MSGS = (MT.MSG_VOTE, MT.MSG_VOTE_RESP, MT.MSG_PRE_VOTE, MT.MSG_PRE_VOTE_RESP)
_AFTER_APPEND = (MT.MSG_APP_RESP, MT.MSG_VOTE_RESP, MT.MSG_PRE_VOTE_RESP)


def _stamp(m: Message, frm: int, term: int) -> Message:
    # dataclasses.replace() is several times slower, and this is the hot path.
    return Message(
        m.type, m.to, frm, term, m.log_term, m.index, m.entries,
        m.commit, m.snapshot, m.reject, m.reject_hint, m.context,
    )  # fmt: skip


class Raft:
    def __init__(self, c: Config) -> None:
        c.validate()
        self.id = c.id
        self.raft_log = RaftLog(c.storage, c.max_committed_size_per_ready)
        hs, cs = c.storage.initial_state()
        self.term = 0
        self.vote = NONE
        self.lead = NONE
        self.state = StateType.FOLLOWER
        self.is_learner = False
        self.max_msg_size = c.max_size_per_msg
        self.max_uncommitted_size = c.max_uncommitted_entries_size
        self.trk = ProgressTracker(c.max_inflight_msgs, c.max_inflight_bytes)
        self.msgs: list[Message] = []
        self.msgs_after_append: list[Message] = []
        self.read_states: list[ReadState] = []
        self.lead_transferee = NONE
        self.pending_conf_index = 0
        self.uncommitted_size = 0
        self.read_only = ReadOnly(c.read_only_option)
        self.pending_read_index_messages: list[Message] = []
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.check_quorum = c.check_quorum
        self.pre_vote = c.pre_vote
        self.heartbeat_timeout = c.heartbeat_tick
        self.election_timeout = c.election_tick
        self.randomized_election_timeout = 0
        self.disable_proposal_forwarding = c.disable_proposal_forwarding
        self.step_down_on_removal = c.step_down_on_removal
        self.rand = c.rand if c.rand is not None else random.Random(c.id)
        self.logger = c.logger
        self.step = raft_step.step_follower
        self.tick = self.tick_election

        got = raft_confchange.restore_conf_state(self, cs)
        if not got.equivalent(cs):
            raise AssertionError(f"ConfStates not equivalent after sorting: {got} vs {cs}")
        if hs != HardState():
            self.load_state(hs)
        if c.applied > 0:
            self.raft_log.applied_to(c.applied)
        self.become_follower(self.term, NONE)
        self.log(
            f"newRaft {self.id:x} [peers: [{','.join(map(str, self.trk.voter_nodes()))}], "
            f"term: {self.term}, commit: {self.raft_log.committed}, applied: {self.raft_log.applied}, "
            f"lastindex: {self.raft_log.last_index()}, lastterm: {self.raft_log.last_term()}]"
        )

    def log(self, line: str) -> None:
        if self.logger is not None:
            self.logger(line)

    def has_leader(self) -> bool:
        return self.lead != NONE

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.raft_log.committed)

    # -- sending -----------------------------------------------------------

    def send(self, m: Message) -> None:
        """Stamp from and term, then queue m for the next Ready."""
        term = m.term
        if m.type in _VOTE_MSGS:
            if term == 0:
                raise AssertionError(f"term should be set when sending {m.type}")
        elif term != 0:
            raise AssertionError(f"term should not be set when sending {m.type} (was {term})")
        elif m.type not in (MT.MSG_PROP, MT.MSG_READ_INDEX):
            # Proposals and read requests are forwarded as local messages.
            term = self.term
        if m.frm == NONE or term != m.term:
            m = _stamp(m, m.frm or self.id, term)
        if m.type in _AFTER_APPEND:
            self.msgs_after_append.append(m)
        else:
            if m.to == self.id:
                raise AssertionError(f"message should not be self-addressed when sending {m.type}")
            self.msgs.append(m)

    def send_append(self, to: int) -> None:
        self.maybe_send_append(to, True)

    def maybe_send_append(self, to: int, send_if_empty: bool) -> bool:
        """Send new entries (or a probe, or a snapshot) to `to` if flow control allows."""
        pr = self.trk.progress[to]
        if pr.is_paused():
            return False
        prev_index = pr.next - 1
        try:
            prev_term = self.raft_log.term(prev_index)
            ents: list[Entry] = []
            if pr.state != ProgressStateType.REPLICATE or not pr.inflights.full():
                ents = self.raft_log.entries(pr.next, self.max_msg_size)
        except RaftError:
            # The entries it needs were compacted away: send a snapshot (§7).
            return self.maybe_send_snapshot(to, pr)
        if not ents and not send_if_empty:
            return False
        commit = self.raft_log.committed
        self.send(
            Message(
                type=MT.MSG_APP,
                to=to,
                index=prev_index,
                log_term=prev_term,
                entries=tuple(ents),
                commit=commit,
            )
        )
        pr.sent_entries(len(ents), sum(len(e.data) for e in ents))
        pr.sent_commit = commit
        return True

    def maybe_send_snapshot(self, to: int, pr: Progress) -> bool:
        if not pr.recent_active:
            return False  # do not ship a large snapshot to a node that may be down
        try:
            snapshot = self.raft_log.snapshot()
        except ErrSnapshotTemporarilyUnavailable:
            return False
        if snapshot.is_empty():
            raise AssertionError("need non-empty snapshot")
        pr.become_snapshot(snapshot.metadata.index)
        self.send(Message(type=MT.MSG_SNAP, to=to, snapshot=snapshot))
        return True

    def send_heartbeat(self, to: int, ctx: bytes) -> None:
        # Never tell a follower to commit past what it is known to hold:
        # its log beyond match may still disagree with ours.
        pr = self.trk.progress[to]
        commit = min(pr.match, self.raft_log.committed)
        self.send(Message(type=MT.MSG_HEARTBEAT, to=to, commit=commit, context=ctx))
        pr.sent_commit = commit

    def bcast_append(self) -> None:
        for i in sorted(self.trk.progress):
            if i != self.id:
                self.send_append(i)

    def bcast_heartbeat(self) -> None:
        ctx = self.read_only.heartbeat_ctx()
        for i in sorted(self.trk.progress):
            if i != self.id:
                self.send_heartbeat(i, ctx)

    # -- applying and committing ------------------------------------------

    def applied_to(self, index: int) -> None:
        old = self.raft_log.applied
        new = max(index, old)
        self.raft_log.applied_to(new)
        if (
            self.trk.config.auto_leave
            and new >= self.pending_conf_index
            and self.state == StateType.LEADER
        ):
            # The joint config is applied: propose the empty change that leaves it.
            m = Message(type=MT.MSG_PROP, entries=(conf_change_to_entry(None),))
            try:
                self.step_msg(m)
                self.log(
                    f"initiating automatic transition out of joint configuration {self.trk.config}"
                )
            except RaftError:
                pass

    def applied_snap(self, snap: Snapshot) -> None:
        index = snap.metadata.index
        self.raft_log.stable_snap_to(index)
        self.applied_to(index)

    def maybe_commit(self) -> bool:
        """Advance commit to the quorum's match, only for an entry of our term (§5.4.2)."""
        return self.raft_log.maybe_commit(self.trk.committed(), self.term)

    def reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.reset_randomized_election_timeout()
        self.abort_leader_transfer()
        self.trk.reset_votes()
        last = self.raft_log.last_index()
        for i, pr in self.trk.progress.items():
            npr = Progress(
                match=last if i == self.id else 0,
                next=last + 1,
                inflights=Inflights(self.trk.max_inflight, self.trk.max_inflight_bytes),
                is_learner=pr.is_learner,
            )
            self.trk.progress[i] = npr
        self.pending_conf_index = 0
        self.uncommitted_size = 0
        self.read_only = ReadOnly(self.read_only.option)

    def append_entry(self, es: list[Entry] | tuple[Entry, ...]) -> bool:
        li = self.raft_log.last_index()
        ents = [Entry(self.term, li + 1 + i, e.type, e.data) for i, e in enumerate(es)]
        if not self.increase_uncommitted_size(ents):
            return False
        li = self.raft_log.append(ents)
        # Our own ack: counted only after the entries are persisted (advance()).
        self.send(Message(type=MT.MSG_APP_RESP, to=self.id, index=li))
        return True

    def increase_uncommitted_size(self, ents: list[Entry]) -> bool:
        s = sum(len(e.data) for e in ents)
        if (
            self.uncommitted_size > 0
            and s > 0
            and self.uncommitted_size + s > self.max_uncommitted_size
        ):
            return False
        self.uncommitted_size += s
        return True

    def reduce_uncommitted_size(self, s: int) -> None:
        self.uncommitted_size = max(0, self.uncommitted_size - s)

    # -- time ----------------------------------------------------------------

    def tick_election(self) -> None:
        self.election_elapsed += 1
        if self.promotable() and self.past_election_timeout():
            self.election_elapsed = 0
            self.step_msg(Message(type=MT.MSG_HUP, frm=self.id))

    def tick_heartbeat(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.election_timeout:
            self.election_elapsed = 0
            if self.check_quorum:
                self.step_msg(Message(type=MT.MSG_CHECK_QUORUM, frm=self.id))
            if self.state == StateType.LEADER and self.lead_transferee != NONE:
                self.abort_leader_transfer()  # the transfer took too long
        if self.state != StateType.LEADER:
            return
        if self.heartbeat_elapsed >= self.heartbeat_timeout:
            self.heartbeat_elapsed = 0
            self.step_msg(Message(type=MT.MSG_BEAT, frm=self.id))

    def past_election_timeout(self) -> bool:
        return self.election_elapsed >= self.randomized_election_timeout

    def reset_randomized_election_timeout(self) -> None:
        self.randomized_election_timeout = self.election_timeout + self.rand.randrange(
            self.election_timeout
        )

    # -- roles ---------------------------------------------------------------

    def become_follower(self, term: int, lead: int) -> None:
        self.step = raft_step.step_follower
        self.reset(term)
        self.tick = self.tick_election
        self.lead = lead
        self.state = StateType.FOLLOWER
        self.log(f"{self.id:x} became follower at term {self.term}")

    def become_candidate(self) -> None:
        if self.state == StateType.LEADER:
            raise AssertionError("invalid transition [leader -> candidate]")
        self.step = raft_step.step_candidate
        self.reset(self.term + 1)
        self.tick = self.tick_election
        self.vote = self.id
        self.state = StateType.CANDIDATE
        self.log(f"{self.id:x} became candidate at term {self.term}")

    def become_pre_candidate(self) -> None:
        if self.state == StateType.LEADER:
            raise AssertionError("invalid transition [leader -> pre-candidate]")
        # Neither the term nor the vote change: a pre-vote is a dry run.
        self.step = raft_step.step_candidate
        self.trk.reset_votes()
        self.tick = self.tick_election
        self.lead = NONE
        self.state = StateType.PRE_CANDIDATE
        self.log(f"{self.id:x} became pre-candidate at term {self.term}")

    def become_leader(self) -> None:
        if self.state == StateType.FOLLOWER:
            raise AssertionError("invalid transition [follower -> leader]")
        self.step = raft_step.step_leader
        self.reset(self.term)
        self.tick = self.tick_heartbeat
        self.lead = self.id
        self.state = StateType.LEADER
        pr = self.trk.progress[self.id]
        pr.become_replicate()
        pr.recent_active = True
        # Conservatively assume the uncommitted tail may hold a conf change.
        self.pending_conf_index = self.raft_log.last_index()
        # An empty entry of our term lets us commit everything before it (§8).
        if not self.append_entry([Entry()]):
            raise AssertionError("empty entry was dropped")
        self.log(f"{self.id:x} became leader at term {self.term}")

    def step_msg(self, m: Message) -> None:
        """raft.Step: term bookkeeping shared by every role, then self.step."""
        raft_step.step(self, m)

    # -- misc ----------------------------------------------------------------

    def promotable(self) -> bool:
        """Can this node become leader? Voters only, and never mid-snapshot."""
        pr = self.trk.progress.get(self.id)
        return (
            pr is not None
            and not pr.is_learner
            and not self.raft_log.has_next_or_in_progress_snapshot()
        )

    def load_state(self, hs: HardState) -> None:
        if hs.commit < self.raft_log.committed or hs.commit > self.raft_log.last_index():
            raise AssertionError(
                f"{self.id:x} state.commit {hs.commit} is out of range "
                f"[{self.raft_log.committed}, {self.raft_log.last_index()}]"
            )
        self.raft_log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    def apply_conf_change(self, cc: ConfChangeV2) -> ConfState:
        return raft_confchange.apply_conf_change(self, cc)

    def send_timeout_now(self, to: int) -> None:
        self.send(Message(type=MT.MSG_TIMEOUT_NOW, to=to))

    def abort_leader_transfer(self) -> None:
        self.lead_transferee = NONE

    def committed_entry_in_current_term(self) -> bool:
        return self.raft_log.zero_term_on_err(self.raft_log.committed) == self.term
