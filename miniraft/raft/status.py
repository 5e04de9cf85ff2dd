"""A snapshot of a node's state for humans, metrics and tests.

Mirrors etcd-io/raft status.go (Status, BasicStatus, getStatus): hard state,
soft state, applied index, and on the leader a copy of every Progress.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from miniraft.raft.raft_state import StateType
from miniraft.raft.raftpb import HardState
from miniraft.raft.tracker import Progress, TrackerConfig

if TYPE_CHECKING:
    from miniraft.raft.raft import Raft


@dataclass
class Status:
    id: int
    hard_state: HardState
    lead: int
    raft_state: StateType
    applied: int
    lead_transferee: int
    config: TrackerConfig
    progress: dict[int, Progress] = field(default_factory=dict)


def get_status(r: Raft) -> Status:
    progress = {}
    if r.state == StateType.LEADER:
        progress = {i: copy.copy(pr) for i, pr in r.trk.progress.items()}
    return Status(
        id=r.id,
        hard_state=r.hard_state(),
        lead=r.lead,
        raft_state=r.state,
        applied=r.raft_log.applied,
        lead_transferee=r.lead_transferee,
        config=r.trk.config.clone(),
        progress=progress,
    )
