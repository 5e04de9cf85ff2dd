"""envoy.filters.http.local_ratelimit: a token bucket per filter config, 429 when empty.

Mirrors source/extensions/filters/http/local_ratelimit/local_ratelimit.cc (Filter::decodeHeaders:
filter_enabled / filter_enforced fractions — both 0% when unset —, the 429 local reply
`local_rate_limited` with `x-envoy-ratelimited: true`, response flag RL) and
source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc (the bucket refills
`tokens_per_fill` every `fill_interval`, capped at `max_tokens`, starting full). Stats under
`<stat_prefix>.http_local_rate_limit.`: enabled, enforced, rate_limited, ok.
As Envoy's workers share the filter config's bucket, worker processes share one bucket in the
server's segment (shared_memory.py): its tokens and last fill time are two int64 slots, and a
`lockf` lock on them makes each refill + consume atomic across processes. A bucket is found by
the digest of its serialized config, so byte-identical filter configs share one bucket.
`refill_and_consume` is the pure core: the caller passes monotonic nanoseconds.
Omitted: descriptors, per-connection buckets, x-ratelimit-* headers.
"""

from __future__ import annotations

import fcntl
import hashlib

from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2

from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.filter import FilterHeadersStatus, StreamFilter
from miniproxy.envoy.header_parser import HeaderParser

FILTER_NAME = "envoy.filters.http.local_ratelimit"
_DENOM = {0: 100, 1: 10000, 2: 1000000}
_HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_RL = local_rate_limit_pb2.LocalRateLimit.DESCRIPTOR.full_name


def refill_and_consume(
    tokens: int, last_fill: int, now: int, max_tokens: int, per_fill: int, interval: int
) -> tuple[bool, int, int]:
    """Every whole `interval` since `last_fill` adds `per_fill` tokens (capped), then one token
    is taken if there is one: (granted, tokens, last_fill) after the call. Integers: ns."""
    fills = (now - last_fill) // interval
    if fills > 0:
        tokens = min(max_tokens, tokens + fills * per_fill)
        last_fill += fills * interval
    if tokens <= 0:
        return False, tokens, last_fill
    return True, tokens - 1, last_fill


class TokenBucket:
    """The bucket's state is two int64 slots: private memory, or a block of the shared segment
    (then `lock` = (fd, byte offset) and every consume holds a lockf lock on those 16 bytes)."""

    def __init__(
        self,
        max_tokens: int,
        tokens_per_fill: int,
        fill_interval: float,
        now: float,
        state: memoryview | None = None,
        lock: tuple[int, int] | None = None,
    ) -> None:
        self.max_tokens = max_tokens
        self.tokens_per_fill = tokens_per_fill
        self.interval = max(1, round(fill_interval * 1e9))
        self.lock = lock
        if state is None:  # private and starting full; a shared block is filled by main
            state = memoryview(bytearray(16)).cast("q")
            state[0], state[1] = max_tokens, round(now * 1e9)
        self.state = state

    @property
    def tokens(self) -> int:
        return self.state[0]

    def consume(self, now: float) -> bool:
        st = self.state
        if self.lock is not None:
            fcntl.lockf(self.lock[0], fcntl.LOCK_EX, 16, self.lock[1])
        try:
            ok, st[0], st[1] = refill_and_consume(
                st[0], st[1], round(now * 1e9), self.max_tokens, self.tokens_per_fill,
                self.interval,
            )  # fmt: skip
        finally:
            if self.lock is not None:
                fcntl.lockf(self.lock[0], fcntl.LOCK_UN, 16, self.lock[1])
        return ok


def bucket_key(pb) -> str:
    """The shared bucket's key: the digest of the config's deterministic serialization."""
    return hashlib.sha256(pb.SerializeToString(deterministic=True)).hexdigest()[:32]


def find_configs(msg, out: dict[str, object]) -> dict[str, object]:
    """Every LocalRateLimit inside a Listener or RouteConfiguration (in filter chains' HCMs,
    their http_filters and typed_per_filter_config at any level), by bucket key."""
    if msg.DESCRIPTOR.full_name == "google.protobuf.Any":
        name = msg.type_url.rsplit("/", 1)[-1]
        if name == _RL:
            pb = local_rate_limit_pb2.LocalRateLimit.FromString(msg.value)
            out[bucket_key(pb)] = pb
        elif name == _HCM:
            from envoy.extensions.filters.network.http_connection_manager.v3 import (
                http_connection_manager_pb2 as hcm_pb2,
            )

            find_configs(hcm_pb2.HttpConnectionManager.FromString(msg.value), out)
        return out
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            values = value.values() if fd.message_type.fields_by_name["value"].message_type else ()
        else:
            values = value if fd.is_repeated else (value,)
        for v in values:
            find_configs(v, out)
    return out


def _runtime_fraction(pb, field: str) -> tuple[int, int]:
    if not pb.HasField(field):
        return 0, 100
    d = getattr(pb, field).default_value
    return d.numerator, _DENOM[d.denominator]


class LocalRateLimitConfig:
    def __init__(self, pb, store, now: float, shared=None) -> None:
        """`shared`: fn(bucket key) → (block view, lock) of the server's shared bucket, or None."""
        self.pb = pb
        tb = pb.token_bucket
        interval = tb.fill_interval.seconds + tb.fill_interval.nanos / 1e9
        if interval < 0.05:
            raise ValueError("local rate limit token bucket fill timer must be >= 50ms")
        per_fill = tb.tokens_per_fill.value if tb.HasField("tokens_per_fill") else 1
        found = shared(bucket_key(pb)) if shared is not None else None
        state, lock = found if found is not None else (None, None)
        self.bucket = TokenBucket(tb.max_tokens, per_fill, interval, now, state, lock)
        self.enabled = _runtime_fraction(pb, "filter_enabled")
        self.enforced = _runtime_fraction(pb, "filter_enforced")
        self.response_headers = HeaderParser(pb.response_headers_to_add, [])
        s = store.scope(f"{pb.stat_prefix}.http_local_rate_limit.")
        self.stats = {n: s.counter(n) for n in ("enabled", "enforced", "rate_limited", "ok")}


class LocalRateLimitFilter(StreamFilter):
    def __init__(self, config: LocalRateLimitConfig, rng) -> None:
        self.config = config
        self.rng = rng

    def _on(self, frac: tuple[int, int]) -> bool:
        return self.rng.randrange(frac[1]) < frac[0]

    def decode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        cfg = self.config
        route = self.callbacks.route()
        if route is not None:
            cfg = route.per_filter_config(FILTER_NAME) or cfg
        if not self._on(cfg.enabled):
            return FilterHeadersStatus.Continue
        cfg.stats["enabled"].inc()
        if cfg.bucket.consume(self.callbacks.loop.time()):
            cfg.stats["ok"].inc()
            return FilterHeadersStatus.Continue
        cfg.stats["rate_limited"].inc()
        if not self._on(cfg.enforced):
            return FilterHeadersStatus.Continue
        cfg.stats["enforced"].inc()

        def modify(h) -> None:
            cfg.response_headers.evaluate(h, {})
            h.set("x-envoy-ratelimited", "true")

        self.callbacks.send_local_reply(
            429,
            "local_rate_limited",
            modify_headers=modify,
            details="local_rate_limited",
            flag=flags.RATE_LIMITED,
        )
        return FilterHeadersStatus.StopIteration
