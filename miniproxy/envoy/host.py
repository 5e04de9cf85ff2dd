"""Upstream hosts and their health flags.

Mirrors envoy/upstream/upstream.h (Host::HealthFlag, HostDescription) and
source/common/upstream/upstream_impl.cc (HostImpl::coarseHealth, HostSetImpl's healthy list).
A host is healthy when no health flag is set; the flags are set by active health checking,
outlier detection and EDS health status.
Omitted: localities, priorities other than 0, metadata, degraded hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FAILED_ACTIVE_HC = 0x1
FAILED_OUTLIER_CHECK = 0x2
FAILED_EDS_HEALTH = 0x4
PENDING_ACTIVE_HC = 0x8

_FLAG_NAMES = (
    (FAILED_ACTIVE_HC, "/failed_active_hc"),
    (FAILED_OUTLIER_CHECK, "/failed_outlier_check"),
    (FAILED_EDS_HEALTH, "/failed_eds_health"),
    (PENDING_ACTIVE_HC, "/pending_active_hc"),
)


@dataclass(eq=False)
class HostStats:
    rq_total: int = 0
    rq_success: int = 0
    rq_error: int = 0
    rq_timeout: int = 0
    rq_active: int = 0
    cx_total: int = 0
    cx_active: int = 0
    cx_connect_fail: int = 0


@dataclass(eq=False)
class Host:
    """HostImpl: one endpoint of a cluster. Identity is the object (eq=False)."""

    address: str
    port: int
    weight: int = 1
    hostname: str = ""
    health_flags: int = 0
    stats: HostStats = field(default_factory=HostStats)

    def __post_init__(self) -> None:
        # Address::Instance::asString, the key ring hash and Maglev hash; read per request.
        if ":" in self.address:
            self.address_string = f"[{self.address}]:{self.port}"
        else:
            self.address_string = f"{self.address}:{self.port}"

    def healthy(self) -> bool:
        return self.health_flags & ~PENDING_ACTIVE_HC == 0

    def health_flag_set(self, flag: int) -> None:
        self.health_flags |= flag

    def health_flag_clear(self, flag: int) -> None:
        self.health_flags &= ~flag

    def health_flag_get(self, flag: int) -> bool:
        return bool(self.health_flags & flag)

    def health_string(self) -> str:
        """The `health_flags` column of /clusters: `healthy` or `/failed_...` joined."""
        names = "".join(n for f, n in _FLAG_NAMES if self.health_flags & f)
        return names or "healthy"
