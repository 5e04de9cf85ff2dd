"""The ReplicaSet controller (pkg/controller/replicaset)."""

from minicontroller.replicaset.replica_set import ReplicaSetController

__all__ = ["ReplicaSetController"]
