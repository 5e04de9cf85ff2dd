"""Membership changes (etcd-io/raft confchange/)."""

from miniraft.raft.confchange.confchange import Changer, ConfChangeError
from miniraft.raft.confchange.restore import restore

__all__ = ["Changer", "ConfChangeError", "restore"]
