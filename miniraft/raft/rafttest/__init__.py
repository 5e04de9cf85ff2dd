"""Test harnesses for miniraft.raft (etcd-io/raft rafttest/)."""

from miniraft.raft.rafttest.handler import handle
from miniraft.raft.rafttest.interaction_env import InteractionEnv

__all__ = ["InteractionEnv", "handle"]
