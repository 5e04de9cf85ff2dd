"""Convert miniraft.raft's frozen dataclasses to and from raftpb protobuf bytes.

etcd puts raftpb messages marshaled with gogo-protobuf on the wire (rafthttp)
and into the WAL (walpb.Record.data). The Raft core keeps them as dataclasses;
this module is the one place that knows both forms.
"""

from __future__ import annotations

from miniraft.api.raftpb import raft_pb2
from miniraft.raft import (
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
)

# Enum members by wire number: indexing a tuple is several times cheaper than
# calling the IntEnum, and every message and entry on the wire goes through here.
_MESSAGE_TYPES = tuple(MessageType)
_ENTRY_TYPES = tuple(EntryType)
assert all(int(t) == i for ts in (_MESSAGE_TYPES, _ENTRY_TYPES) for i, t in enumerate(ts))


def entry_to_pb(e: Entry, out: raft_pb2.Entry) -> None:
    out.Term, out.Index, out.Type, out.Data = e.term, e.index, e.type, e.data


def entry_from_pb(p: raft_pb2.Entry) -> Entry:
    return Entry(p.Term, p.Index, _ENTRY_TYPES[p.Type], p.Data)


def marshal_entry(e: Entry) -> bytes:
    p = raft_pb2.Entry()
    entry_to_pb(e, p)
    return p.SerializeToString()


def unmarshal_entry(data: bytes) -> Entry:
    return entry_from_pb(raft_pb2.Entry.FromString(data))


def marshal_hard_state(hs: HardState) -> bytes:
    return raft_pb2.HardState(term=hs.term, vote=hs.vote, commit=hs.commit).SerializeToString()


def unmarshal_hard_state(data: bytes) -> HardState:
    p = raft_pb2.HardState.FromString(data)
    return HardState(term=p.term, vote=p.vote, commit=p.commit)


def conf_state_to_pb(cs: ConfState, out: raft_pb2.ConfState) -> None:
    out.voters.extend(cs.voters)
    out.learners.extend(cs.learners)
    out.voters_outgoing.extend(cs.voters_outgoing)
    out.learners_next.extend(cs.learners_next)
    out.auto_leave = cs.auto_leave


def conf_state_from_pb(p: raft_pb2.ConfState) -> ConfState:
    return ConfState(
        voters=tuple(p.voters),
        learners=tuple(p.learners),
        voters_outgoing=tuple(p.voters_outgoing),
        learners_next=tuple(p.learners_next),
        auto_leave=p.auto_leave,
    )


def snapshot_to_pb(s: Snapshot, out: raft_pb2.Snapshot) -> None:
    out.data = s.data
    out.metadata.index = s.metadata.index
    out.metadata.term = s.metadata.term
    conf_state_to_pb(s.metadata.conf_state, out.metadata.conf_state)


def snapshot_from_pb(p: raft_pb2.Snapshot) -> Snapshot:
    md = SnapshotMetadata(
        conf_state=conf_state_from_pb(p.metadata.conf_state),
        index=p.metadata.index,
        term=p.metadata.term,
    )
    return Snapshot(data=p.data, metadata=md)


def message_to_pb(m: Message) -> raft_pb2.Message:
    p = raft_pb2.Message(
        type=int(m.type),
        to=m.to,
        term=m.term,
        logTerm=m.log_term,
        index=m.index,
        commit=m.commit,
        reject=m.reject,
        rejectHint=m.reject_hint,
        context=m.context,
    )
    setattr(p, "from", m.frm)  # `from` is a Python keyword
    for e in m.entries:
        entry_to_pb(e, p.entries.add())
    if m.snapshot is not None:
        snapshot_to_pb(m.snapshot, p.snapshot)
    return p


def message_from_pb(p: raft_pb2.Message) -> Message:
    t = _MESSAGE_TYPES[p.type]
    return Message(
        type=t,
        to=p.to,
        frm=getattr(p, "from"),
        term=p.term,
        log_term=p.logTerm,
        index=p.index,
        entries=tuple([entry_from_pb(e) for e in p.entries]) if p.entries else (),
        commit=p.commit,
        snapshot=snapshot_from_pb(p.snapshot) if p.HasField("snapshot") else None,
        reject=p.reject,
        reject_hint=p.rejectHint,
        context=p.context,
    )
