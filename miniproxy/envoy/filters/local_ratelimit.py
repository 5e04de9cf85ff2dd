"""envoy.filters.http.local_ratelimit: a token bucket per filter config, 429 when empty.

Mirrors source/extensions/filters/http/local_ratelimit/local_ratelimit.cc (Filter::decodeHeaders:
filter_enabled / filter_enforced fractions — both 0% when unset —, the 429 local reply
`local_rate_limited` with `x-envoy-ratelimited: true`, response flag RL) and
source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc (the bucket refills
`tokens_per_fill` every `fill_interval`, capped at `max_tokens`, starting full). Stats under
`<stat_prefix>.http_local_rate_limit.`: enabled, enforced, rate_limited, ok.
`TokenBucket` is pure: the caller passes monotonic seconds.
Omitted: descriptors, per-connection buckets, x-ratelimit-* headers.
"""

from __future__ import annotations

from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.filter import FilterHeadersStatus, StreamFilter
from miniproxy.envoy.header_parser import HeaderParser

FILTER_NAME = "envoy.filters.http.local_ratelimit"
_DENOM = {0: 100, 1: 10000, 2: 1000000}


class TokenBucket:
    """Discrete refills: every whole fill_interval since the last fill adds tokens_per_fill."""

    def __init__(
        self, max_tokens: int, tokens_per_fill: int, fill_interval: float, now: float
    ) -> None:
        self.max_tokens = max_tokens
        self.tokens_per_fill = tokens_per_fill
        self.fill_interval = fill_interval
        self.tokens = max_tokens
        self.last_fill = now

    def consume(self, now: float) -> bool:
        fills = int((now - self.last_fill) / self.fill_interval)
        if fills > 0:
            self.tokens = min(self.max_tokens, self.tokens + fills * self.tokens_per_fill)
            self.last_fill += fills * self.fill_interval
        if self.tokens <= 0:
            return False
        self.tokens -= 1
        return True


def _runtime_fraction(pb, field: str) -> tuple[int, int]:
    if not pb.HasField(field):
        return 0, 100
    d = getattr(pb, field).default_value
    return d.numerator, _DENOM[d.denominator]


class LocalRateLimitConfig:
    def __init__(self, pb, store, now: float) -> None:
        self.pb = pb
        tb = pb.token_bucket
        interval = tb.fill_interval.seconds + tb.fill_interval.nanos / 1e9
        if interval < 0.05:
            raise ValueError("local rate limit token bucket fill timer must be >= 50ms")
        per_fill = tb.tokens_per_fill.value if tb.HasField("tokens_per_fill") else 1
        self.bucket = TokenBucket(tb.max_tokens, per_fill, interval, now)
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
