"""Server configuration: etcd's flags and their defaults.

Mirrors etcd server/config/config.go (ServerConfig) and server/embed/config.go
(the flag defaults: --heartbeat-interval 100, --election-timeout 1000,
--snapshot-count 100000, --max-request-bytes 1.5 MiB, --max-txn-ops 128).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024
GRPC_OVERHEAD_BYTES = 512 * 1024
SNAPSHOT_CATCHUP_ENTRIES = 5000


@dataclass
class ServerConfig:
    name: str = "default"
    data_dir: str = "default.etcd"
    listen_client_urls: list[str] = field(default_factory=lambda: ["http://localhost:2379"])
    advertise_client_urls: list[str] = field(default_factory=lambda: ["http://localhost:2379"])
    listen_peer_urls: list[str] = field(default_factory=lambda: ["http://localhost:2380"])
    initial_advertise_peer_urls: list[str] = field(
        default_factory=lambda: ["http://localhost:2380"]
    )
    initial_cluster: str = ""
    initial_cluster_state: str = "new"
    initial_cluster_token: str = "etcd-cluster"
    heartbeat_ms: int = 100
    election_ms: int = 1000
    snapshot_count: int = 100_000
    snapshot_catchup_entries: int = SNAPSHOT_CATCHUP_ENTRIES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_txn_ops: int = 128
    pre_vote: bool = True
    watch_progress_notify_interval: float = 600.0
    enable_lease_checkpoint: bool = False
    lease_checkpoint_interval: float = 300.0
    unsafe_no_fsync: bool = False

    def __post_init__(self) -> None:
        if not self.initial_cluster:
            self.initial_cluster = ",".join(
                f"{self.name}={u}" for u in self.initial_advertise_peer_urls
            )

    @property
    def member_dir(self) -> Path:
        return Path(self.data_dir) / "member"

    @property
    def wal_dir(self) -> Path:
        return self.member_dir / "wal"

    @property
    def snap_dir(self) -> Path:
        return self.member_dir / "snap"

    @property
    def election_ticks(self) -> int:
        return max(1, self.election_ms // self.heartbeat_ms)

    @property
    def req_timeout(self) -> float:
        """etcd's ReqTimeout: 5 s plus two election timeouts."""
        return 5.0 + 2 * self.election_ms / 1000

    @property
    def min_lease_ttl(self) -> int:
        """Leases shorter than 1.5 election timeouts could expire during an election."""
        ticks = (3 * self.election_ticks) // 2
        return -(-(ticks * self.heartbeat_ms) // 1000)


def host_port(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    if u.scheme not in ("http", "https", "") or not u.hostname or not u.port:
        raise ValueError(f"invalid URL {url!r} (want http://host:port)")
    return u.hostname, u.port
