"""RawNode: the application's handle on one Raft node, and its Ready batches.

Mirrors etcd-io/raft rawnode.go (RawNode, Ready, SoftState, MustSync) and
node.go's Ready/SnapshotStatus types. The driver loop, run by the application:

    while True:
        node.tick()                       # every tick interval
        node.step(m)                      # for every message received
        if node.has_ready():
            rd = node.ready()
            storage.apply_snapshot / append(rd.entries) / set_hard_state(rd.hard_state)
            send(rd.messages)             # only after the line above is durable
            apply(rd.committed_entries)   # conf changes via apply_conf_change()
            node.advance(rd)

Persisting before sending is what makes a vote or an ack a promise (Figure 2:
"respond to RPCs only after updating stable storage"). Our own vote and our
own append ack are not sent at all: they are stepped in advance(), i.e. only
counted once persisted. Omitted: AsyncStorageWrites, TickQuiesced,
ForgetLeader, WithProgress, BasicStatus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from miniraft.raft.config import Config
from miniraft.raft.raft import Raft
from miniraft.raft.raft_state import ErrProposalDropped, StateType
from miniraft.raft.raftpb import (
    EMPTY_HARD_STATE,
    EMPTY_SNAPSHOT,
    ConfChange,
    ConfChangeV2,
    ConfState,
    Entry,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from miniraft.raft.raftpb_codec import conf_change_to_entry
from miniraft.raft.read_only import ReadState
from miniraft.raft.status import Status, get_status
from miniraft.raft.storage import RaftError

MT = MessageType

_LOCAL = {MT.MSG_HUP, MT.MSG_BEAT, MT.MSG_UNREACHABLE, MT.MSG_SNAP_STATUS, MT.MSG_CHECK_QUORUM}
_RESPONSE = {
    MT.MSG_APP_RESP,
    MT.MSG_VOTE_RESP,
    MT.MSG_HEARTBEAT_RESP,
    MT.MSG_UNREACHABLE,
    MT.MSG_READ_INDEX_RESP,
    MT.MSG_PRE_VOTE_RESP,
}


class ErrStepLocalMsg(RaftError):
    def __init__(self) -> None:
        super().__init__("raft: cannot step raft local message")


class ErrStepPeerNotFound(RaftError):
    def __init__(self) -> None:
        super().__init__("raft: cannot step as peer not found")


class SnapshotStatus(IntEnum):
    FINISH = 1
    FAILURE = 2


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state worth showing but not persisting: who leads, and our role."""

    lead: int
    raft_state: StateType


@dataclass(frozen=True)
class Ready:
    """Everything the application must do before calling advance()."""

    soft_state: SoftState | None = None
    hard_state: HardState = EMPTY_HARD_STATE
    read_states: tuple[ReadState, ...] = ()
    entries: tuple[Entry, ...] = ()
    snapshot: Snapshot = EMPTY_SNAPSHOT
    committed_entries: tuple[Entry, ...] = ()
    messages: tuple[Message, ...] = field(default=())
    must_sync: bool = False


def must_sync(st: HardState, prev: HardState, entsnum: int) -> bool:
    """Must this Ready be fsynced? Commit alone can be recovered, term/vote/log cannot."""
    return entsnum != 0 or st.vote != prev.vote or st.term != prev.term


class RawNode:
    def __init__(self, config: Config) -> None:
        self.raft = Raft(config)
        r = self.raft
        self.prev_soft_st = SoftState(r.lead, r.state)
        self.prev_hard_st = r.hard_state()
        self.steps_on_advance: list[Message] = []

    def tick(self) -> None:
        self.raft.tick()

    def campaign(self) -> None:
        self.raft.step_msg(Message(type=MT.MSG_HUP))

    def propose(self, data: bytes) -> None:
        """Raises ErrProposalDropped when there is no leader to take it."""
        self.raft.step_msg(Message(type=MT.MSG_PROP, frm=self.raft.id, entries=(Entry(data=data),)))

    def propose_conf_change(self, cc: ConfChange | ConfChangeV2) -> None:
        self.raft.step_msg(Message(type=MT.MSG_PROP, entries=(conf_change_to_entry(cc),)))

    def apply_conf_change(self, cc: ConfChange | ConfChangeV2) -> ConfState:
        return self.raft.apply_conf_change(cc.as_v2())

    def step(self, m: Message) -> None:
        """Feed a message received from a peer."""
        if m.type in _LOCAL:
            raise ErrStepLocalMsg()
        if m.type in _RESPONSE and m.frm not in self.raft.trk.progress:
            raise ErrStepPeerNotFound()
        self.raft.step_msg(m)

    def ready(self) -> Ready:
        rd = self._ready_without_accept()
        self._accept_ready(rd)
        return rd

    def _ready_without_accept(self) -> Ready:
        r = self.raft
        soft = SoftState(r.lead, r.state)
        hard = r.hard_state()
        snap = r.raft_log.next_unstable_snapshot()
        entries = r.raft_log.next_unstable_ents()
        msgs = list(r.msgs) + [m for m in r.msgs_after_append if m.to != r.id]
        return Ready(
            soft_state=soft if soft != self.prev_soft_st else None,
            hard_state=hard if hard != self.prev_hard_st else EMPTY_HARD_STATE,
            read_states=tuple(r.read_states),
            entries=tuple(entries),
            snapshot=snap if snap is not None else EMPTY_SNAPSHOT,
            committed_entries=tuple(r.raft_log.next_committed_ents(True)),
            messages=tuple(msgs),
            must_sync=must_sync(hard, self.prev_hard_st, len(entries)),
        )

    def _accept_ready(self, rd: Ready) -> None:
        r = self.raft
        if rd.soft_state is not None:
            self.prev_soft_st = rd.soft_state
        if rd.hard_state != EMPTY_HARD_STATE:
            self.prev_hard_st = rd.hard_state
        r.read_states = []
        if self.steps_on_advance:
            raise AssertionError("two accepted Ready structs without call to Advance")
        self.steps_on_advance = [m for m in r.msgs_after_append if m.to == r.id]
        r.msgs = []
        r.msgs_after_append = []
        r.raft_log.accept_unstable()
        if rd.committed_entries:
            r.raft_log.accept_applying(rd.committed_entries[-1].index)

    def has_ready(self) -> bool:
        r = self.raft
        ps, ph = self.prev_soft_st, self.prev_hard_st
        if r.lead != ps.lead or r.state != ps.raft_state:
            return True
        if r.term != ph.term or r.vote != ph.vote or r.raft_log.committed != ph.commit:
            return True
        if r.raft_log.next_unstable_snapshot() is not None:
            return True
        if r.msgs or r.msgs_after_append or r.read_states:
            return True
        return r.raft_log.has_next_unstable_ents() or r.raft_log.has_next_committed_ents(True)

    def advance(self, rd: Ready) -> None:
        """The Ready is persisted and applied: count our own votes and acks."""
        r = self.raft
        steps, self.steps_on_advance = self.steps_on_advance, []
        for m in steps:
            try:
                r.step_msg(m)
            except RaftError:
                pass
        if rd.entries:
            last = rd.entries[-1]
            r.raft_log.stable_to(last.index, last.term)
        if not rd.snapshot.is_empty():
            r.applied_snap(rd.snapshot)
        if rd.committed_entries:
            r.applied_to(rd.committed_entries[-1].index)
            r.reduce_uncommitted_size(sum(len(e.data) for e in rd.committed_entries))

    def status(self) -> Status:
        return get_status(self.raft)

    def report_unreachable(self, node_id: int) -> None:
        self.raft.step_msg(Message(type=MT.MSG_UNREACHABLE, frm=node_id))

    def report_snapshot(self, node_id: int, status: SnapshotStatus) -> None:
        reject = status == SnapshotStatus.FAILURE
        self.raft.step_msg(Message(type=MT.MSG_SNAP_STATUS, frm=node_id, reject=reject))

    def transfer_leadership(self, to: int) -> None:
        # The transferee rides in `frm`, as in etcd.
        self.raft.step_msg(Message(type=MT.MSG_TRANSFER_LEADER, frm=to))

    def read_index(self, ctx: bytes) -> None:
        """Ask for a read index; the answer arrives as a ReadState in a Ready."""
        self.raft.step_msg(Message(type=MT.MSG_READ_INDEX, entries=(Entry(data=ctx),)))


__all__ = [
    "ErrProposalDropped",
    "ErrStepLocalMsg",
    "ErrStepPeerNotFound",
    "RawNode",
    "Ready",
    "SnapshotStatus",
    "SoftState",
    "must_sync",
]
