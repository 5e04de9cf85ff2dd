"""The Raft message and log types, as immutable values.

Mirrors etcd-io/raft raftpb/raft.proto (Entry, Message, HardState, ConfState,
Snapshot, ConfChange, ConfChangeV2) and raftpb/confchange.go (AsV2, AsV1).
Enum numbers equal raftpb's so a server can put them on a wire unchanged.
Omitted: the async-storage message types (MsgStorageAppend..MsgForgetLeader),
Message.responses and Message.vote, which only async storage writes use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


def _camel(prefix: str, name: str) -> str:
    # MSG_APP_RESP -> MsgAppResp: the Go spelling, for describe() and logs.
    return prefix + "".join(p.capitalize() for p in name.split("_"))


class MessageType(IntEnum):
    """raftpb.MessageType; the values are the proto enum numbers."""

    MSG_HUP = 0
    MSG_BEAT = 1
    MSG_PROP = 2
    MSG_APP = 3
    MSG_APP_RESP = 4
    MSG_VOTE = 5
    MSG_VOTE_RESP = 6
    MSG_SNAP = 7
    MSG_HEARTBEAT = 8
    MSG_HEARTBEAT_RESP = 9
    MSG_UNREACHABLE = 10
    MSG_SNAP_STATUS = 11
    MSG_CHECK_QUORUM = 12
    MSG_TRANSFER_LEADER = 13
    MSG_TIMEOUT_NOW = 14
    MSG_READ_INDEX = 15
    MSG_READ_INDEX_RESP = 16
    MSG_PRE_VOTE = 17
    MSG_PRE_VOTE_RESP = 18

    def __str__(self) -> str:
        return _camel("Msg", self.name[4:])


class EntryType(IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1
    CONF_CHANGE_V2 = 2

    def __str__(self) -> str:
        return (
            "EntryConfChangeV2" if self is EntryType.CONF_CHANGE_V2 else _camel("Entry", self.name)
        )


class ConfChangeType(IntEnum):
    ADD_NODE = 0
    REMOVE_NODE = 1
    UPDATE_NODE = 2
    ADD_LEARNER_NODE = 3

    def __str__(self) -> str:
        return _camel("ConfChange", self.name)


class ConfChangeTransition(IntEnum):
    AUTO = 0
    JOINT_IMPLICIT = 1
    JOINT_EXPLICIT = 2

    def __str__(self) -> str:
        return _camel("ConfChangeTransition", self.name)


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry (§5.3): a term, an index and an opaque command."""

    term: int = 0
    index: int = 0
    type: EntryType = EntryType.NORMAL
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class HardState:
    """The state a node must persist before it sends messages (Figure 2)."""

    term: int = 0
    vote: int = 0
    commit: int = 0


EMPTY_HARD_STATE = HardState()


@dataclass(frozen=True, slots=True)
class ConfState:
    """The membership as of a snapshot: voters of the incoming and outgoing
    (joint) majority, learners, and learners that join when the joint config ends."""

    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    voters_outgoing: tuple[int, ...] = ()
    learners_next: tuple[int, ...] = ()
    auto_leave: bool = False

    def equivalent(self, other: ConfState) -> bool:
        """Equal up to the order of the ids (raftpb/confstate.go Equivalent)."""

        def norm(cs: ConfState) -> tuple:
            return (
                sorted(cs.voters),
                sorted(cs.learners),
                sorted(cs.voters_outgoing),
                sorted(cs.learners_next),
                cs.auto_leave,
            )

        return norm(self) == norm(other)


@dataclass(frozen=True, slots=True)
class SnapshotMetadata:
    conf_state: ConfState = field(default_factory=ConfState)
    index: int = 0
    term: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A compacted prefix of the log (§7): application state plus its position."""

    data: bytes = b""
    metadata: SnapshotMetadata = field(default_factory=SnapshotMetadata)

    def is_empty(self) -> bool:
        return self.metadata.index == 0


EMPTY_SNAPSHOT = Snapshot()


@dataclass(frozen=True, slots=True)
class Message:
    """A Raft RPC or a local event; `frm` is raftpb's `from` (a Python keyword)."""

    type: MessageType
    to: int = 0
    frm: int = 0
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    snapshot: Snapshot | None = None
    reject: bool = False
    reject_hint: int = 0
    context: bytes = b""

    def describe(self) -> str:
        """etcd's DescribeMessage: `1->2 MsgVote Term:1 Log:1/2`."""
        from miniraft.raft.describe import describe_message

        return describe_message(self)


@dataclass(frozen=True, slots=True)
class ConfChangeSingle:
    type: ConfChangeType = ConfChangeType.ADD_NODE
    node_id: int = 0


@dataclass(frozen=True, slots=True)
class ConfChange:
    """The one-at-a-time membership change (§6 of the Raft paper, v1 API)."""

    type: ConfChangeType = ConfChangeType.ADD_NODE
    node_id: int = 0
    context: bytes = b""
    id: int = 0

    def as_v2(self) -> ConfChangeV2:
        return ConfChangeV2(
            changes=(ConfChangeSingle(self.type, self.node_id),), context=self.context
        )

    def as_v1(self) -> ConfChange | None:
        return self


@dataclass(frozen=True, slots=True)
class ConfChangeV2:
    """Several changes applied atomically, through joint consensus when needed."""

    transition: ConfChangeTransition = ConfChangeTransition.AUTO
    changes: tuple[ConfChangeSingle, ...] = ()
    context: bytes = b""

    def as_v2(self) -> ConfChangeV2:
        return self

    def as_v1(self) -> ConfChange | None:
        return None

    def enter_joint(self) -> tuple[bool, bool]:
        """(auto_leave, use_joint): whether this change needs a joint config.

        A single change can go straight to the new config (one-at-a-time is
        safe because any majority of the old and the new config overlap);
        several changes at once need the joint config C_old,new of §6.
        """
        if self.transition != ConfChangeTransition.AUTO or len(self.changes) > 1:
            if self.transition in (ConfChangeTransition.AUTO, ConfChangeTransition.JOINT_IMPLICIT):
                return True, True
            if self.transition == ConfChangeTransition.JOINT_EXPLICIT:
                return False, True
        return False, False

    def leave_joint(self) -> bool:
        """An empty V2 change is the instruction to leave the joint config."""
        return not self.changes


def is_empty_hard_state(hs: HardState) -> bool:
    return hs == EMPTY_HARD_STATE


def conf_changes_to_string(ccs: tuple[ConfChangeSingle, ...]) -> str:
    """The compact `v1 l2 r3 u4` form used by etcd's transcripts."""
    letter = {
        ConfChangeType.ADD_NODE: "v",
        ConfChangeType.ADD_LEARNER_NODE: "l",
        ConfChangeType.REMOVE_NODE: "r",
        ConfChangeType.UPDATE_NODE: "u",
    }
    return " ".join(f"{letter[cc.type]}{cc.node_id}" for cc in ccs)


def conf_changes_from_string(s: str) -> tuple[ConfChangeSingle, ...]:
    """Parse `v1 l2 r3 u4` (raftpb ConfChangesFromString)."""
    kinds = {
        "v": ConfChangeType.ADD_NODE,
        "l": ConfChangeType.ADD_LEARNER_NODE,
        "r": ConfChangeType.REMOVE_NODE,
        "u": ConfChangeType.UPDATE_NODE,
    }
    out = []
    for tok in s.split():
        if tok[0] not in kinds:
            raise ValueError(f"unknown input: {tok}")
        out.append(ConfChangeSingle(kinds[tok[0]], int(tok[1:])))
    return tuple(out)
