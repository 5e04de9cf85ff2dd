"""Majority and joint quorums (etcd-io/raft quorum/)."""

from miniraft.raft.quorum.joint import JointConfig
from miniraft.raft.quorum.majority import MajorityConfig, VoteResult

__all__ = ["JointConfig", "MajorityConfig", "VoteResult"]
