"""Leader election on Lease objects (k8s.io/client-go/tools/leaderelection)."""

from miniclient.leaderelection.leaderelection import (
    LeaderElectionConfig,
    LeaderElector,
    lease_expired,
)
from miniclient.leaderelection.resourcelock import LeaderElectionRecord, LeaseLock

__all__ = [
    "LeaderElectionConfig",
    "LeaderElectionRecord",
    "LeaderElector",
    "LeaseLock",
    "lease_expired",
]
