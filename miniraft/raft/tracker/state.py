"""The three states of a follower's Progress as seen by the leader.

Mirrors etcd-io/raft tracker/state.go (StateType: StateProbe, StateReplicate,
StateSnapshot). See progress.py for what each state means.
"""

from __future__ import annotations

from enum import IntEnum


class ProgressStateType(IntEnum):
    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2

    def __str__(self) -> str:
        return "State" + self.name.capitalize()
