"""A sans-I/O Raft consensus core, a Python clone of etcd-io/raft.

The package "only implements the Raft algorithm": no sockets, disks, clocks or
threads. Drive it through RawNode (rawnode.py): tick(), step(), propose(),
then ready() / persist / send / apply / advance(). Each module names the
etcd-io/raft file it mirrors; docs/miniraft.md maps them all.
"""

from miniraft.raft.confchange import ConfChangeError
from miniraft.raft.config import Config
from miniraft.raft.describe import (
    describe_entry,
    describe_hard_state,
    describe_message,
    describe_ready,
    describe_snapshot,
    describe_soft_state,
)
from miniraft.raft.raft_state import NONE, ErrProposalDropped, StateType
from miniraft.raft.raftpb import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
    is_empty_hard_state,
)
from miniraft.raft.raftpb_codec import (
    conf_change_from_entry,
    marshal_conf_change,
    marshal_conf_change_v2,
    unmarshal_conf_change,
    unmarshal_conf_change_v2,
)
from miniraft.raft.rawnode import (
    ErrStepLocalMsg,
    ErrStepPeerNotFound,
    RawNode,
    Ready,
    SnapshotStatus,
    SoftState,
)
from miniraft.raft.read_only import ReadOnlyOption, ReadState
from miniraft.raft.status import Status
from miniraft.raft.storage import (
    ErrCompacted,
    ErrSnapOutOfDate,
    ErrSnapshotTemporarilyUnavailable,
    ErrUnavailable,
    MemoryStorage,
    RaftError,
    Storage,
)

__all__ = [
    "NONE",
    "Config",
    "ConfChange",
    "ConfChangeError",
    "ConfChangeSingle",
    "ConfChangeTransition",
    "ConfChangeType",
    "ConfChangeV2",
    "ConfState",
    "Entry",
    "EntryType",
    "ErrCompacted",
    "ErrProposalDropped",
    "ErrSnapOutOfDate",
    "ErrSnapshotTemporarilyUnavailable",
    "ErrStepLocalMsg",
    "ErrStepPeerNotFound",
    "ErrUnavailable",
    "HardState",
    "MemoryStorage",
    "Message",
    "MessageType",
    "RaftError",
    "RawNode",
    "ReadOnlyOption",
    "ReadState",
    "Ready",
    "Snapshot",
    "SnapshotMetadata",
    "SnapshotStatus",
    "SoftState",
    "StateType",
    "Status",
    "Storage",
    "conf_change_from_entry",
    "describe_entry",
    "describe_hard_state",
    "describe_message",
    "describe_ready",
    "describe_snapshot",
    "describe_soft_state",
    "is_empty_hard_state",
    "marshal_conf_change",
    "marshal_conf_change_v2",
    "unmarshal_conf_change",
    "unmarshal_conf_change_v2",
]
