"""Replication progress and membership tracking (etcd-io/raft tracker/)."""

from miniraft.raft.tracker.inflights import Inflights
from miniraft.raft.tracker.progress import Progress
from miniraft.raft.tracker.state import ProgressStateType
from miniraft.raft.tracker.tracker import ProgressMap, ProgressTracker, TrackerConfig

__all__ = [
    "Inflights",
    "Progress",
    "ProgressMap",
    "ProgressStateType",
    "ProgressTracker",
    "TrackerConfig",
]
