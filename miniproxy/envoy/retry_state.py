"""Retry decisions: which failures are retried, how many times, after what back-off.

Mirrors source/common/router/retry_state_impl.cc (RetryStateImpl::parseRetryOn,
shouldRetryHeaders, shouldRetryReset, x-envoy-retry-on / x-envoy-max-retries) and
source/common/common/backoff_strategy.cc (JitteredExponentialBackOffStrategy: base 25 ms,
max 10× base, full jitter). Pure: the caller injects a random.Random.
Omitted: retry host predicates, retry priorities, rate-limited back-off, retriable headers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RETRY_ON_5XX = "5xx"
RETRY_ON_GATEWAY_ERROR = "gateway-error"
RETRY_ON_CONNECT_FAILURE = "connect-failure"
RETRY_ON_RESET = "reset"
RETRY_ON_RETRIABLE_4XX = "retriable-4xx"
RETRY_ON_RETRIABLE_STATUS_CODES = "retriable-status-codes"
RETRY_ON_REFUSED_STREAM = "refused-stream"
RETRY_ON_ENVOY_RATELIMITED = "envoy-ratelimited"
KNOWN = {
    RETRY_ON_5XX, RETRY_ON_GATEWAY_ERROR, RETRY_ON_CONNECT_FAILURE, RETRY_ON_RESET,
    RETRY_ON_RETRIABLE_4XX, RETRY_ON_RETRIABLE_STATUS_CODES, RETRY_ON_REFUSED_STREAM,
    RETRY_ON_ENVOY_RATELIMITED,
}  # fmt: skip


@dataclass(frozen=True)
class RetryPolicy:
    retry_on: frozenset[str] = frozenset()
    num_retries: int = 1
    per_try_timeout: float = 0.0
    retriable_status_codes: frozenset[int] = frozenset()
    base_interval: float = 0.025
    max_interval: float = 0.25

    @staticmethod
    def from_proto(pb) -> RetryPolicy:
        on = frozenset(x.strip() for x in pb.retry_on.split(",") if x.strip() in KNOWN)
        base = 0.025
        if pb.HasField("retry_back_off"):
            b = pb.retry_back_off
            base = b.base_interval.seconds + b.base_interval.nanos / 1e9
            mx = (
                b.max_interval.seconds + b.max_interval.nanos / 1e9
                if b.HasField("max_interval")
                else 10 * base
            )
        else:
            mx = 10 * base
        per_try = pb.per_try_timeout.seconds + pb.per_try_timeout.nanos / 1e9
        return RetryPolicy(
            retry_on=on,
            num_retries=pb.num_retries.value if pb.HasField("num_retries") else 1,
            per_try_timeout=per_try,
            retriable_status_codes=frozenset(pb.retriable_status_codes),
            base_interval=base,
            max_interval=mx,
        )


def _is_gateway_error(status: int) -> bool:
    return status in (502, 503, 504)


@dataclass
class RetryState:
    """One request's retry budget and back-off, RetryStateImpl."""

    retry_on: frozenset[str]
    retries_remaining: int
    retriable_status_codes: frozenset[int]
    base_ms: int
    max_ms: int
    rng: random.Random
    current_retry: int = 1
    attempts: list[str] = field(default_factory=list)

    @staticmethod
    def create(
        policy: RetryPolicy | None, request_headers, rng: random.Random
    ) -> RetryState | None:
        """None when neither the route nor the request headers ask for retries."""
        on = set(policy.retry_on) if policy else set()
        num = policy.num_retries if policy else 1
        codes = set(policy.retriable_status_codes) if policy else set()
        hdr = request_headers.get("x-envoy-retry-on")
        if hdr:
            on |= {x.strip() for x in hdr.split(",") if x.strip() in KNOWN}
        grpc_codes = request_headers.get("x-envoy-retriable-status-codes")
        if grpc_codes:
            codes |= {int(x) for x in grpc_codes.split(",") if x.strip().isdigit()}
        max_hdr = request_headers.get("x-envoy-max-retries")
        if max_hdr and max_hdr.isdigit():
            num = int(max_hdr)
        if not on:
            return None
        base = int((policy.base_interval if policy else 0.025) * 1000) or 1
        mx = int((policy.max_interval if policy else 0.25) * 1000) or base
        return RetryState(frozenset(on), num, frozenset(codes), base, mx, rng)

    def would_retry_status(self, status: int) -> bool:
        on = self.retry_on
        if RETRY_ON_5XX in on and 500 <= status < 600:
            return True
        if RETRY_ON_GATEWAY_ERROR in on and _is_gateway_error(status):
            return True
        if RETRY_ON_RETRIABLE_4XX in on and status == 409:
            return True
        return RETRY_ON_RETRIABLE_STATUS_CODES in on and status in self.retriable_status_codes

    def would_retry_reset(self, reason: str) -> bool:
        """reason is "connect_failure", "reset" or "timeout" (per-try)."""
        on = self.retry_on
        if reason == "connect_failure":
            return bool(
                on
                & {RETRY_ON_CONNECT_FAILURE, RETRY_ON_5XX, RETRY_ON_GATEWAY_ERROR, RETRY_ON_RESET}
            )
        if reason == "timeout":
            return bool(on & {RETRY_ON_5XX, RETRY_ON_GATEWAY_ERROR})
        return bool(on & {RETRY_ON_RESET, RETRY_ON_5XX, RETRY_ON_GATEWAY_ERROR})

    def next_backoff_ms(self) -> int:
        """JitteredExponentialBackOffStrategy::nextBackOffMs."""
        multiplier = (1 << self.current_retry) - 1
        base_backoff = multiplier * self.base_ms
        if base_backoff <= self.max_ms:
            self.current_retry += 1
        return min(self.rng.getrandbits(63) % base_backoff, self.max_ms)

    def take_retry(self) -> bool:
        """Consume one retry from the budget; False when none are left (URX)."""
        if self.retries_remaining <= 0:
            return False
        self.retries_remaining -= 1
        return True
