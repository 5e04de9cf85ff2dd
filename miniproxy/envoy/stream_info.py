"""StreamInfo: what one request did, for access logs and stats; and Envoy's response flags.

Mirrors envoy/stream_info/stream_info.h (ResponseFlag / CoreResponseFlag) and
source/common/stream_info/utility.cc (the short strings `UF`, `UO`, `NR`, ... joined by `,`).
"""

from __future__ import annotations

# (flag, short string) in Envoy's CoreResponseFlag order.
FAILED_LOCAL_HEALTH_CHECK = "LH"
NO_HEALTHY_UPSTREAM = "UH"
UPSTREAM_REQUEST_TIMEOUT = "UT"
LOCAL_RESET = "LR"
UPSTREAM_REMOTE_RESET = "UR"
UPSTREAM_CONNECTION_FAILURE = "UF"
UPSTREAM_CONNECTION_TERMINATION = "UC"
UPSTREAM_OVERFLOW = "UO"
NO_ROUTE_FOUND = "NR"
DELAY_INJECTED = "DI"
FAULT_INJECTED = "FI"
RATE_LIMITED = "RL"
UNAUTHORIZED_EXTERNAL_SERVICE = "UAEX"
RATE_LIMIT_SERVICE_ERROR = "RLSE"
DOWNSTREAM_CONNECTION_TERMINATION = "DC"
UPSTREAM_RETRY_LIMIT_EXCEEDED = "URX"
STREAM_IDLE_TIMEOUT = "SI"
INVALID_ENVOY_REQUEST_HEADERS = "IH"
DOWNSTREAM_PROTOCOL_ERROR = "DPE"
UPSTREAM_MAX_STREAM_DURATION_REACHED = "UMSDR"
NO_CLUSTER_FOUND = "NC"
RBAC_DENIED = "RBAC"  # the filter's own details; Envoy logs it as UAEX-style "RBAC" flag
ORDER = ["LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE",
         "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF",
         "DO", "DR"]  # fmt: skip


class StreamInfo:
    """What one request did. The defaults live on the class, so a request pays only for the
    fields it sets (a dataclass with 15 fields and a set per request was a hot spot)."""

    response_code: int | None = None
    response_code_details = ""
    response_flags: set[str] | frozenset[str] = frozenset()
    bytes_received = 0
    bytes_sent = 0
    duration_ms: int | None = None
    upstream_host = ""
    upstream_cluster = ""
    route_name = ""
    attempt_count = 0
    protocol = "HTTP/1.1"  # %PROTOCOL%: HTTP/1.0, HTTP/1.1 or HTTP/2

    def __init__(
        self,
        start_time: float,  # wall clock, seconds since the epoch, for %START_TIME%
        start_monotonic: float,
        downstream_remote: str = "",
        downstream_local: str = "",
        response_code: int | None = None,
    ) -> None:
        self.start_time = start_time
        self.start_monotonic = start_monotonic
        self.downstream_remote = downstream_remote
        self.downstream_local = downstream_local
        if response_code is not None:
            self.response_code = response_code

    def set_response_flag(self, flag: str) -> None:
        if not self.response_flags:
            self.response_flags = set()
        self.response_flags.add(flag)

    def flags_string(self) -> str:
        """ResponseFlagUtils::toShortString: `-` when none."""
        flags = [f for f in ORDER if f in self.response_flags]
        return ",".join(flags) if flags else "-"
